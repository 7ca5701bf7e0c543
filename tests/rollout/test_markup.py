"""TaggedProtocol: pinned renderings, parse round trips, malformed turns, and the stop matcher."""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.rollout import ParsedTurn, TaggedProtocol
from lightning_paretopo.rollout.sampling import SamplingConfig, next_tokens
from lightning_paretopo.rollout.stops import StopMatcher
from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.types import TaskExample

P = TaggedProtocol()


def test_pinned_renderings():
    task = TaskExample("t", "arith", "What is 3*4?", "12", tools=("calculator",))
    assert P.render_prompt(task) == "Q: What is 3*4?\n"
    assert P.format_call("calculator", "3*4") == "<calc>3*4</calc>"
    assert P.format_call("python", "print(1)") == "<python>print(1)</python>"
    assert P.format_call("search", "Paris") == "<search>Paris</search>"
    assert P.format_observation("calculator", ToolResult(True, "12")) == "<result>12</result>"
    assert P.format_observation("python", ToolResult(True, "1\n")) == "<output>1\n</output>"
    assert P.format_observation("search", ToolResult(True, "d")) == "<information>d</information>"
    bad = ToolResult(False, "division by zero", "math")
    assert P.format_observation("calculator", bad) == "<result>error: division by zero</result>"
    assert P.format_observation(None, bad) == "<result>error: division by zero</result>"
    house = ToolResult(False, "Error: division by zero", "math")  # the tools' own convention
    assert P.format_observation("calculator", house) == "<result>error: division by zero</result>"
    assert P.format_answer("12") == "<answer>12</answer>"
    assert P.stop_strings == ["</calc>", "</python>", "</search>", "</answer>"]


def test_observation_is_cut_to_max_chars():
    short = TaggedProtocol(max_observation_chars=8)
    assert short.format_observation("search", ToolResult(True, "abcdefghij")) == (
        "<information>abcde...</information>"
    )
    with pytest.raises(ValueError, match="max_observation_chars"):
        TaggedProtocol(max_observation_chars=2)


def test_format_call_rejects_unknown_tool():
    with pytest.raises(ValueError, match="tool_name"):
        P.format_call("browser", "x")


@pytest.mark.parametrize("tool", ["calculator", "python", "search"])
def test_call_round_trip(tool):
    text = "think first " + P.format_call(tool, " 1 + 2 ")
    assert P.parse_turn(text) == ParsedTurn("call", tool=tool, arguments="1 + 2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer> 12 </answer>", ParsedTurn("answer", answer="12")),
        ("<calc>1+1</calc>trailing<answer>3</answer>", ParsedTurn("call", "calculator", "1+1")),
        ("<python>print(1<2)</python>", ParsedTurn("call", "python", "print(1<2)")),
        ("plain words", ParsedTurn("none")),
        ("<answer>1", ParsedTurn("none", error="unclosed <answer> tag")),
        ("<calc></calc>", ParsedTurn("invalid", "calculator", error="empty arguments in <calc>")),
        ("<calc>1+", ParsedTurn("invalid", "calculator", error="unclosed <calc> tag")),
        ("1+2</calc>", ParsedTurn("invalid", "calculator", error="</calc> without <calc>")),
        ("<python>x</calc>", ParsedTurn("invalid", "calculator", error="</calc> without <calc>")),
        ("<foo>x</foo>", ParsedTurn("invalid", error="unknown tag <foo>")),
        ("</answer>", ParsedTurn("invalid", error="</answer> without <answer>")),
    ],
)
def test_parse_turn(text, expected):
    assert P.parse_turn(text) == expected


def test_extract_answer_takes_the_last_closed_answer():
    assert P.extract_answer("<answer>1</answer><result>x</result><answer> 2 </answer>") == "2"
    assert P.extract_answer("<answer>1") is None


def test_stop_matcher_across_and_inside_tokens(tok):
    matcher = StopMatcher(tok, P.stop_strings)
    tail, hits = "", []
    for t in tok.convert_tokens_to_ids(list("x</cal")) + tok.convert_tokens_to_ids(["c>"]):
        tail, hit = matcher.push(tail, t)
        hits.append(hit)
    assert hits == [False] * 6 + [True]  # "</calc>" completes inside the merged token "c>"
    assert len(tail) <= len("</answer>") - 1


def test_next_tokens_greedy_top_p_and_temperature():
    logits = torch.tensor([[0.0, 1.0, 5.0], [3.0, 0.0, 0.0]])
    greedy = SamplingConfig(do_sample=False)
    assert next_tokens(logits, greedy, None).tolist() == [2, 0]
    gen = torch.Generator().manual_seed(0)
    nucleus = SamplingConfig(top_p=0.5)  # the top token alone holds > 0.5 of the mass
    draws = torch.stack([next_tokens(logits, nucleus, gen) for _ in range(50)])
    assert (draws == torch.tensor([2, 0])).all()
    flat = SamplingConfig(temperature=1e4)  # almost uniform: every token appears
    draws = torch.stack([next_tokens(logits, flat, gen) for _ in range(300)])
    assert set(draws[:, 0].tolist()) == {0, 1, 2}
