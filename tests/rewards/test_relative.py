"""ALGORITHM.md S8: RelativeToolEfficiency, exp(-alpha |m - n*|) with a per-prompt running n*.

Pinned by hand on groups of G = 3: which rollouts are correct is the Accuracy head's verdict,
n* is the fewest calls of a correct rollout (running minimum over training batches only), 0
with none; the table survives a checkpoint round trip.
"""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.rewards import Accuracy, RelativeToolEfficiency, RewardHeads, ToolEfficiency
from lightning_paretopo.types import TaskExample, TurnSpan
from tests.rewards.conftest import make_batch

A = TaskExample("a-1", "arith", "3*4?", "12", ("calculator",))
B = TaskExample("a-2", "arith", "2+2?", "4", ("calculator",))
e = math.exp


def row(answer: str, calls: int) -> dict:
    turns = [TurnSpan(2 * i, 2 * i + 1, "calculator") for i in range(calls)]
    return {"text": f"<answer>{answer}</answer>", "turns": [*turns, TurnSpan(10, 11)]}


def score(heads: RewardHeads, rows: list[dict], tasks: list[TaskExample], learn: bool):
    R_raw, _ = heads(make_batch(rows, group_size=3), [t for t in tasks for _ in range(3)], learn)
    return R_raw[:, 1].tolist()


def heads(alpha: float = 0.5) -> RewardHeads:
    return RewardHeads([Accuracy(), RelativeToolEfficiency(alpha=alpha)])


def test_n_star_is_the_fewest_calls_of_a_correct_rollout() -> None:
    # prompt A: correct with 2 and 1 calls, wrong with 0 -> n* = 1
    # prompt B: nothing correct -> n* = 0: r = exp(-0.5 m)
    rows = [row("12", 2), row("12", 1), row("13", 0), row("5", 0), row("5", 1), row("5", 3)]
    got = score(heads(), rows, [A, B], learn=False)
    assert got == pytest.approx([e(-0.5), 1.0, e(-0.5), 1.0, e(-0.5), e(-1.5)], abs=1e-12)


def test_running_minimum_over_training_batches_only() -> None:
    h = heads(alpha=1.0)
    score(h, [row("12", 1), row("12", 3), row("1", 0)], [A], learn=True)  # n*(A) = 1
    assert h.state_dict() == {"relative_tool_efficiency": {"fewest": {"a-1": 1}}}
    # a later training group solves A only with 3 calls: n* stays 1, not 3
    got = score(h, [row("12", 3), row("12", 3), row("1", 2)], [A], learn=True)
    assert got == pytest.approx([e(-2), e(-2), e(-1)], abs=1e-12)
    # an evaluation group solving A with 0 calls neither changes the table nor its own n*
    got = score(h, [row("12", 0), row("12", 2), row("1", 1)], [A], learn=False)
    assert got == pytest.approx([e(-1), e(-1), 1.0], abs=1e-12)
    assert h.state_dict()["relative_tool_efficiency"]["fewest"] == {"a-1": 1}
    # a training group solving A with 0 calls lowers it
    score(h, [row("12", 0), row("1", 0), row("1", 0)], [A], learn=True)
    assert h.state_dict()["relative_tool_efficiency"]["fewest"] == {"a-1": 0}


def test_state_round_trip_restores_n_star() -> None:
    first = heads()
    score(first, [row("12", 2), row("1", 0), row("1", 0)], [A], learn=True)
    second = heads()
    second.load_state_dict(first.state_dict())
    rows = [row("1", 2), row("1", 0), row("1", 4)]  # nothing correct: n* comes from the table
    assert score(second, rows, [A], False) == score(first, rows, [A], False)
    assert score(second, rows, [A], False) == pytest.approx([1.0, e(-1), e(-1)], abs=1e-12)


def test_flags_and_bounds() -> None:
    head = RelativeToolEfficiency()
    assert (head.attribution, head.gated, head.reads, head.lo, head.hi) == (
        "tool_turns", True, "accuracy", 0.0, 1.0
    )  # fmt: skip
    assert RewardHeads.from_names(["accuracy", "relative_tool_efficiency"]).gated == [False, True]


@pytest.mark.parametrize("alpha", [0, -1, float("inf"), True])
def test_bad_alpha_names_the_field(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        RelativeToolEfficiency(alpha=alpha)


def test_needs_the_read_objective() -> None:
    with pytest.raises(ValueError, match="reads objective 'accuracy'"):
        RewardHeads([ToolEfficiency(), RelativeToolEfficiency()])
    with pytest.raises(ValueError, match="needs the 'accuracy' objective"):
        RelativeToolEfficiency().compute(make_batch([row("1", 0)], 1), [A])
    with pytest.raises(ValueError, match="checkpoint was made with other objectives"):
        RewardHeads([Accuracy(), ToolEfficiency()]).load_state_dict(
            {"relative_tool_efficiency": {"fewest": {}}}
        )


def test_values_are_float64_on_the_batch_device() -> None:
    R_raw, R = heads()(make_batch([row("12", 1)] * 3, 3), [A] * 3)
    assert R_raw.dtype == torch.float64 and R.dtype == torch.float64
