"""The rollout never dies on model output: hostile turns parse (fast) to "invalid", and an
exception while parsing a row's turn or running its tool stays in that row and is counted."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lightning_paretopo.rollout import ChatTemplateProtocol, RolloutEngine, TaggedProtocol
from lightning_paretopo.rollout.markup import first_closed_tag, last_answer
from lightning_paretopo.types import TaskExample
from tests.rollout.conftest import AdderTool, EchoTool, ScriptedPolicy, make_char_tokenizer


def _chat_protocol() -> ChatTemplateProtocol:
    tok = make_char_tokenizer()
    tok.chat_template = "{{ messages }}"  # parse_turn and extract_answer never render
    return ChatTemplateProtocol(tok, system_prompt=None)


TAGGED, CHAT = TaggedProtocol(), _chat_protocol()
MB = 1_000_000

CALL = '<tool_call>{"name": "calculator", "arguments": {"expression": %s}}</tool_call>'


@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>" + "[" * 100_000 + "</tool_call>",
        CALL % ("[" * 100_000),
        CALL % ("[" * 900 + "]" * 900),  # parses, but may be too deep to turn into text
        "<tool_call>" + "9" * 5000 + "</tool_call>",
        CALL % ("1" * 5000),
    ],
    ids=["deep_json", "deep_arguments", "deep_but_parsable", "huge_int", "huge_int_argument"],
)
def test_chat_parse_turn_never_raises_on_hostile_json(text):
    turn = CHAT.parse_turn(text)
    assert turn.kind in ("invalid", "call")
    if turn.kind == "invalid":
        assert turn.error and turn.error.startswith("bad JSON in tool call")


@pytest.mark.parametrize("text", [CALL % ("[" * 100_000), CALL % ("1" * 5000)])
def test_hostile_json_is_an_invalid_call_with_a_short_error(text):
    turn = CHAT.parse_turn(text)
    assert turn.kind == "invalid" and len(turn.error) < 100


# ------------------------------------------------------------------ linear-time parsing
HOSTILE = {
    "open_unknown": lambda n: "<calculator>" * (n // 12),
    "short_unknown": lambda n: "<a>" * (n // 3),
    "open_answer": lambda n: "<answer>" * (n // 8),
    "answer_then_brace": lambda n: "<answer>{" * (n // 9),
    "close_unknown": lambda n: "</foo>" * (n // 6),
    "open_call": lambda n: "<calc>" * (n // 6),
    "close_call": lambda n: "</calc>" * (n // 7),
    "open_tool_call": lambda n: "<tool_call>" * (n // 11),
    "close_tool_call": lambda n: "</tool_call>" * (n // 12),
    "boxed": lambda n: "\\boxed{" * (n // 7),
    "boxed_braces": lambda n: "\\boxed{" + "{" * n,
    "mismatched_pairs": lambda n: "<a></b>" * (n // 7),
    "long_name": lambda n: "<" + "a" * n,
    "nested_json_call": lambda n: "<tool_call>" + "[" * n + "</tool_call>",
}


def _seconds(protocol, text: str, repeats: int) -> float:
    """Best wall time of ``repeats`` parses (the best is the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        protocol.parse_turn(text)
        protocol.extract_answer(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", [TAGGED, CHAT], ids=["tagged", "chat"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_megabyte_of_hostile_text_parses_in_linear_time(protocol, kind):
    small = _seconds(protocol, HOSTILE[kind](MB // 10), repeats=3)
    assert small < 0.5, f"100 kB took {small:.2f} s"  # quadratic: seconds; fails fast
    big = _seconds(protocol, HOSTILE[kind](MB), repeats=2)
    assert big < 1.0, f"1 MB took {big:.2f} s"
    # linear: ~10x; quadratic: ~100x (the slack absorbs timer noise on tiny times)
    assert big < 20 * small + 0.25, f"1 MB {big:.3f} s vs 100 kB {small:.3f} s: not linear"


# The lazy regexes the linear scans replace: same answers on every text.
OLD_TAG_PAIR = re.compile(r"<([A-Za-z_][\w-]*)>.*?</\1>", re.DOTALL)
OLD_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
TAG_SOUP = st.lists(
    st.sampled_from(
        ["<a>", "</a>", "<b>", "</b>", "<answer>", "</answer>", "answer", "<", "</", ">", "a"]
    ),
    max_size=30,
).map("".join)


@given(TAG_SOUP)
def test_first_closed_tag_equals_the_lazy_regex(text):
    match = OLD_TAG_PAIR.search(text)
    assert first_closed_tag(text) == (match.group(1) if match else None)


@given(TAG_SOUP)
def test_last_answer_equals_the_lazy_regex(text):
    found = OLD_ANSWER.findall(text)
    assert last_answer(text) == (found[-1] if found else None)


# ---------------------------------------------------------- engine: errors stay in their row
TASK_A = TaskExample("a", "arith", "2+3?", "5", tools=("calculator",))
TASK_B = TaskExample("b", "arith", "1+1?", "2", tools=("calculator",))


class RaisingSearch:
    """``search`` that breaks the tool contract: it raises."""

    name = "search"

    def __call__(self, text: str):
        raise RuntimeError("search index is gone")


OBS_BOOM = "<result>error: unreadable turn (RecursionError)</result>"


class FragileProtocol(TaggedProtocol):
    """A markup whose parser breaks its never-raise contract on the text "boom"."""

    def parse_turn(self, text: str):
        if "boom" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return super().parse_turn(text)


def _scripted_batch(protocol, tools, turns_a: list[str], turns_b: list[str]):
    """Roll out TASK_A and TASK_B; each row follows its script of turns (obs taken as sampled)."""
    tok = make_char_tokenizer()
    targets = []
    for task, turns in [(TASK_A, turns_a), (TASK_B, turns_b)]:
        text = protocol.render_prompt(task) + "".join(turns)
        targets.append(tok(text)["input_ids"])
    policy = ScriptedPolicy(targets, len(tok), filler_id=tok.convert_tokens_to_ids("z"))
    engine = RolloutEngine(protocol, tools, max_turns=3, max_new_tokens=40, do_sample=False)
    return engine.generate(policy, tok, [TASK_A, TASK_B], group_size=1)


def test_a_tool_that_raises_is_an_invalid_call_of_its_row_only_and_is_counted():
    obs_a = "<information>error: tool 'search' failed: RuntimeError: search index is gone"
    batch = _scripted_batch(
        TAGGED,
        {"calculator": AdderTool(), "search": RaisingSearch()},
        ["<search>x</search>", obs_a + "</information>", "<answer>5</answer>"],
        ["<calc>1+1</calc>", "<result>2</result>", "<answer>2</answer>"],
    )
    assert batch.texts[0].startswith("<search>x</search>" + obs_a)
    assert batch.texts[0].endswith("<answer>5</answer>")
    assert batch.texts[1] == "<calc>1+1</calc><result>2</result><answer>2</answer>"
    assert [s.valid for s in batch.turns[0]] == [False, True]
    assert [s.valid for s in batch.turns[1]] == [True, True]
    assert batch.invalid_calls.tolist() == [1, 0]
    assert batch.truncated.tolist() == [False, False]
    assert batch.rollout_errors == 1


def test_a_parser_that_raises_is_an_invalid_call_of_its_row_only_and_is_counted():
    protocol = FragileProtocol()
    batch = _scripted_batch(
        protocol,
        {"calculator": AdderTool(), "search": EchoTool()},
        ["<calc>boom</calc>", OBS_BOOM, "<answer>5</answer>"],
        ["<calc>1+1</calc>", "<result>2</result>", "<answer>2</answer>"],
    )
    assert batch.texts[0] == "<calc>boom</calc>" + OBS_BOOM + "<answer>5</answer>"
    assert batch.texts[1] == "<calc>1+1</calc><result>2</result><answer>2</answer>"
    assert [(s.tool, s.valid) for s in batch.turns[0]] == [(None, False), (None, True)]
    assert batch.invalid_calls.tolist() == [1, 0]
    assert batch.truncated.tolist() == [False, False]
    assert batch.rollout_errors == 1


def test_clean_rollouts_count_no_errors():
    batch = _scripted_batch(
        TAGGED,
        {"calculator": AdderTool(), "search": EchoTool()},
        ["<calc>2+3</calc>", "<result>5</result>", "<answer>5</answer>"],
        ["<calc>1+x</calc>", "<result>error: cannot add '1+x'</result>", "<answer>2</answer>"],
    )
    assert batch.invalid_calls.tolist() == [0, 1]
    assert batch.rollout_errors == 0
