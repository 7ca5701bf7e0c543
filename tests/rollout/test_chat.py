"""ChatTemplateProtocol with a faithful minimal Qwen2.5 tool template and a char tokenizer."""

from __future__ import annotations

import json

import pytest

from lightning_paretopo.rollout.chat import ChatTemplateProtocol
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.rollout.markup import ParsedTurn
from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.types import TaskExample
from tests.rollout.conftest import AdderTool, ScriptedPolicy, make_char_tokenizer

# The Qwen2.5-Instruct template, reduced to what the protocol uses (tools, tool role).
QWEN_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content }}"
    "{%- else %}{{- 'You are Qwen.' }}{%- endif %}"
    "{{- '\\n\\n# Tools\\n\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools><|im_end|>\\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'system' and not loop.first)"
    " or (message.role == 'assistant' and not message.tool_calls) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}"
    "{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}"
    "{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
ADDED = ("<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>")
TASK = TaskExample("t", "arith", "2+3?", "5", tools=("calculator",))


@pytest.fixture
def chat_tok():
    tok = make_char_tokenizer(added=ADDED, eos="<|im_end|>", bos=False)
    tok.chat_template = QWEN_TEMPLATE
    return tok


@pytest.fixture
def proto(chat_tok):
    return ChatTemplateProtocol(chat_tok, system_prompt="Be brief.", answer_instruction=None)


def test_prompt_offers_the_task_tools(proto):
    prompt = proto.render_prompt(TASK)
    assert prompt.startswith("<|im_start|>system\nBe brief.\n\n# Tools\n\n<tools>\n{")
    assert '"name": "calculator"' in prompt and '"name": "search"' not in prompt
    assert prompt.endswith("<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n")
    no_tools = proto.render_prompt(TaskExample("q", "qa", "Hi?", "x"))
    assert no_tools == "<|im_start|>system\nBe brief.<|im_end|>\n" + (
        "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_pinned_call_and_observation(proto):
    call = proto.format_call("calculator", "2+3")
    assert call == (
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+3"}}\n</tool_call>'
    )
    obs = proto.format_observation("calculator", ToolResult(True, "5"))
    assert obs == (
        "<|im_end|>\n<|im_start|>user\n<tool_response>\n5\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    err = proto.format_observation(None, ToolResult(False, "bad JSON"))
    assert "<tool_response>\nerror: bad JSON\n</tool_response>" in err


def test_prompt_call_observation_answer_equal_the_template_rendering(proto, chat_tok):
    call = proto.format_call("calculator", "2+3")
    text = proto.render_prompt(TASK) + call
    text += proto.format_observation("calculator", ToolResult(True, "5")) + "<answer>5</answer>"
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2+3?"},
        {"role": "assistant", "content": call},
        {"role": "tool", "name": "calculator", "content": "5"},
        {"role": "assistant", "content": "<answer>5</answer>"},
    ]
    tools = [proto.tool_schemas["calculator"]]
    full = chat_tok.apply_chat_template(messages, tools=tools, tokenize=False)
    assert full == text + "<|im_end|>\n"


def call_text(payload) -> str:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return f"<tool_call>\n{body}\n</tool_call>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            call_text({"name": "search", "arguments": {"query": "Paris"}}),
            ("call", "search", "Paris"),
        ),
        (
            call_text({"name": "python", "arguments": {"src": "print(1)"}}),
            ("call", "python", "print(1)"),
        ),
        (call_text({"name": "calculator", "arguments": "1+1"}), ("call", "calculator", "1+1")),
        (call_text('{"name": "calculator", "arguments": {'), ("invalid", None, "")),
        (call_text({"arguments": {"expression": "1"}}), ("invalid", None, "")),
        (call_text({"name": "browser", "arguments": {"url": "x"}}), ("invalid", None, "")),
        (call_text({"name": "calculator", "arguments": {}}), ("invalid", "calculator", "")),
        ("<tool_call>\n{", ("invalid", None, "")),
        ("</tool_call>", ("invalid", None, "")),
        ("so \\boxed{\\frac{1}{2}}", ("answer", None, "")),
        ("just text", ("none", None, "")),
    ],
)
def test_parse_turn(proto, text, expected):
    parsed = proto.parse_turn(text)
    assert (parsed.kind, parsed.tool, parsed.arguments) == expected
    assert (parsed.error is not None) == (parsed.kind == "invalid")
    if parsed.kind == "answer":
        assert parsed == ParsedTurn("answer", answer="\\frac{1}{2}")


def test_template_that_rewrites_history_is_refused(chat_tok):
    chat_tok.chat_template = QWEN_TEMPLATE.replace(
        "'\\n' + message.content + '<|im_end|>\\n'",
        "'\\n' + message.content | upper + '<|im_end|>\\n'",
    )
    proto = ChatTemplateProtocol(chat_tok)
    with pytest.raises(ValueError, match="re-renders"):
        proto.format_observation("calculator", ToolResult(True, "5"))


def test_missing_template_is_refused():
    with pytest.raises(ValueError, match="chat_template"):
        ChatTemplateProtocol(make_char_tokenizer())


def test_engine_with_chat_protocol(proto, chat_tok):
    ids_of = chat_tok.convert_tokens_to_ids
    call = proto.format_call("calculator", "2+3")
    body = call[len("<tool_call>") : -len("</tool_call>")]
    turn0 = [ids_of("<tool_call>"), *ids_of(list(body)), ids_of("</tool_call>")]
    obs = proto.format_observation("calculator", ToolResult(True, "5"))
    turn1 = [*ids_of(list("\\boxed{5}")), chat_tok.eos_token_id]
    prompt_ids = chat_tok(proto.render_prompt(TASK), add_special_tokens=False)["input_ids"]
    obs_ids = chat_tok(obs, add_special_tokens=False)["input_ids"]
    target = prompt_ids + turn0 + obs_ids + turn1
    policy = ScriptedPolicy([target], len(chat_tok), filler_id=ids_of("z"))
    engine = RolloutEngine(proto, {"calculator": AdderTool()})
    batch = engine.generate(policy, chat_tok, [TASK], group_size=1)
    assert batch.input_ids[0].tolist() == target
    assert batch.action_mask[0].tolist() == [0] * len(prompt_ids) + [1] * len(turn0) + [0] * len(
        obs_ids
    ) + [1] * len(turn1)
    assert batch.tool_calls.tolist() == [1] and batch.truncated.tolist() == [False]
    assert [engine.protocol.extract_answer(t) for t in batch.texts] == ["5"]
    assert (
        chat_tok.decode(target) == proto.render_prompt(TASK) + call + obs + "\\boxed{5}<|im_end|>"
    )
