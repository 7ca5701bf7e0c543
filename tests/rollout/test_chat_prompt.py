"""The chat protocol's system message: template detection, the hermes block, the config."""

from __future__ import annotations

import logging

import pytest

from lightning_paretopo.args import ChatArgs, RolloutArgs
from lightning_paretopo.building import build_engine
from lightning_paretopo.rollout.chat import DEFAULT_TOOL_SCHEMAS, ChatTemplateProtocol
from lightning_paretopo.rollout.chat_prompt import (
    hermes_tools_block,
    system_text,
    template_renders_tools,
)
from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.types import TaskExample
from tests.rollout.conftest import make_char_tokenizer
from tests.rollout.test_chat import ADDED, QWEN_TEMPLATE

# SmolLM2-135M-Instruct's chat template, verbatim (it ignores tools=).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CALC_JSON = (
    '{"type": "function", "function": {"name": "calculator", "description": "Evaluate an '
    'arithmetic expression.", "parameters": {"type": "object", "properties": {"expression": '
    '{"type": "string", "description": "e.g. 3*(4+5)"}}, "required": ["expression"]}}}'
)
# Qwen2.5's template writes exactly this after the system text when given tools=[calculator].
HERMES_CALC = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    + CALC_JSON
    + "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
TASK = TaskExample("t", "gsm8k", "2+3?", "5", tools=("calculator",))


def _tok(template: str):
    tok = make_char_tokenizer(added=ADDED, eos="<|im_end|>", bos=False)
    tok.chat_template = template
    return tok


def test_hermes_block_is_qwen_s():
    assert hermes_tools_block([DEFAULT_TOOL_SCHEMAS["calculator"]]) == HERMES_CALC
    two = hermes_tools_block([DEFAULT_TOOL_SCHEMAS["calculator"], DEFAULT_TOOL_SCHEMAS["python"]])
    assert two.count('\n{"type"') == 2 and two.index('"calculator"') < two.index('"python"')


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Sys.", "Answer so.", None), "Sys. Answer so."),
        (("Sys.", None, "BLOCK"), "Sys.\n\nBLOCK"),
        ((None, None, "BLOCK"), "BLOCK"),
        ((None, "", None), None),
    ],
)
def test_system_text_joins_the_parts_that_are_given(parts, expected):
    assert system_text(*parts) == expected


def test_template_detection():
    schemas = [DEFAULT_TOOL_SCHEMAS["calculator"]]
    messages = [{"role": "user", "content": "Q"}]
    assert template_renders_tools(_tok(QWEN_TEMPLATE), messages, schemas)
    assert not template_renders_tools(_tok(SMOLLM2_TEMPLATE), messages, schemas)
    raising = "{% if tools %}{{ raise_exception('no tools') }}{% endif %}" + SMOLLM2_TEMPLATE
    assert not template_renders_tools(_tok(raising), messages, schemas)
    names_only = "{% if tools %}tools!{% endif %}" + SMOLLM2_TEMPLATE  # shows no schema
    assert not template_renders_tools(_tok(names_only), messages, schemas)


def test_smollm2_template_gets_the_schemas_in_the_system_prompt(caplog):
    with caplog.at_level(logging.INFO, logger="lightning_paretopo.rollout.chat"):
        proto = ChatTemplateProtocol(_tok(SMOLLM2_TEMPLATE))
    assert proto.tools_in == "system"
    assert "schemas go in the system prompt: the chat template ignores tools=" in caplog.text
    assert proto.render_prompt(TASK) == (
        "<|im_start|>system\nYou are a helpful assistant. Call a tool when it helps. Put the "
        "final answer in <answer></answer>.\n\n" + HERMES_CALC + "<|im_end|>\n"
        "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n"
    )
    no_tools = proto.render_prompt(TaskExample("q", "gsm8k", "Hi?", "1"))
    assert "# Tools" not in no_tools and no_tools.startswith("<|im_start|>system\nYou are a help")
    # the observation is the template's own tool message (SmolLM2 renders the "tool" role)
    assert proto.format_observation("calculator", ToolResult(True, "5")) == (
        "<|im_end|>\n<|im_start|>tool\n5<|im_end|>\n<|im_start|>assistant\n"
    )


def test_qwen_template_gets_tools_through_the_template(caplog):
    with caplog.at_level(logging.INFO, logger="lightning_paretopo.rollout.chat"):
        proto = ChatTemplateProtocol(_tok(QWEN_TEMPLATE), answer_instruction="End with #### n.")
    assert proto.tools_in == "template"
    assert "go in the chat template (tools=): the chat template renders tools=" in caplog.text
    prompt = proto.render_prompt(TASK)
    assert prompt.startswith(
        "<|im_start|>system\nYou are a helpful assistant. Call a tool when it helps. End with "
        "#### n.\n\n# Tools\n\n<tools>\n" + CALC_JSON  # the reduced template's own wording
    )
    forced = ChatTemplateProtocol(_tok(QWEN_TEMPLATE), tools_in="system").render_prompt(TASK)
    assert HERMES_CALC in forced and "\n\n# Tools\n\n<tools>" not in forced


def test_no_system_text_leaves_the_template_default():
    proto = ChatTemplateProtocol(
        _tok(SMOLLM2_TEMPLATE), system_prompt=None, answer_instruction=None
    )
    prompt = proto.render_prompt(TaskExample("q", "gsm8k", "Hi?", "1"))
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    with_tools = proto.render_prompt(TASK)  # the schemas alone make the system message
    assert with_tools.startswith("<|im_start|>system\n# Tools\n\n")


def test_rollout_chat_config_reaches_the_protocol():
    calc = DEFAULT_TOOL_SCHEMAS["calculator"]
    mine = {**calc, "function": {**calc["function"], "description": "Exact arithmetic."}}
    args = RolloutArgs(
        protocol="chat",
        chat={
            "system_prompt": "Be exact.",
            "answer_instruction": "End with '#### <number>'.",
            "tool_schemas": {"calculator": mine},
            "tools_in": "system",
        },
    )
    assert isinstance(args.chat, ChatArgs)
    engine = build_engine(args, _tok(QWEN_TEMPLATE), {})
    prompt = engine.protocol.render_prompt(TASK)
    assert prompt.startswith("<|im_start|>system\nBe exact. End with '#### <number>'.\n\n# Tools")
    assert '"description": "Exact arithmetic."' in prompt and "Evaluate an" not in prompt


@pytest.mark.parametrize(
    ("chat", "match"),
    [
        ({"tools_in": "prompt"}, "rollout.chat.tools_in must be one of"),
        ({"tool_schemas": {"calc": {"function": {}}}}, r"rollout.chat.tool_schemas\['calc'\]"),
    ],
)
def test_bad_chat_settings_name_the_field(chat, match):
    with pytest.raises(ValueError, match=match):
        RolloutArgs(protocol="chat", chat=chat)
