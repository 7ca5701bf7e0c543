"""Tests for RewardHeads: the [N, K] matrix, normalisation, NaN rules, user heads, errors."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from jsonargparse import ArgumentParser

from lightning_paretopo.rewards import (
    Accuracy,
    Format,
    RewardHead,
    RewardHeads,
    ToolEfficiency,
)
from lightning_paretopo.types import RolloutBatch, TaskExample
from tests.rewards.conftest import (
    ARITH,
    GSM8K,
    KBQA,
    NAN,
    QA,
    ROWS,
    TASKS,
    T,
    assert_pinned,
    make_batch,
)


class NegativeCalls(RewardHead):
    """A user head: -m with bounds [-2, 0] (so -3 clips to 0), NaN for tasks without tools."""

    def __init__(self, name: str = "neg_calls"):
        super().__init__(name, lo=-2.0, hi=0.0, attribution="tool_turns")

    def compute(self, batch: RolloutBatch, tasks: list[TaskExample]) -> list[float]:
        calls = batch.tool_calls.tolist()
        return [NAN if not t.tools else -float(m) for t, m in zip(tasks, calls, strict=True)]


class Scripted(RewardHead):
    """A user head returning fixed values (to provoke the RewardHeads checks)."""

    def __init__(self, values: list[float], name: str = "scripted"):
        super().__init__(name)
        self.values = values

    def compute(self, batch: RolloutBatch, tasks: list[TaskExample]) -> list[float]:
        return self.values


# ------------------------------------------------------------------ RewardHeads


def test_reward_heads_matrix_and_normalisation(batch: RolloutBatch) -> None:
    heads = RewardHeads([Accuracy(), ToolEfficiency(budget=2), NegativeCalls()])
    assert heads.names == ["accuracy", "tool_efficiency", "neg_calls"]
    assert heads.attributions == ["all", "tool_turns", "tool_turns"]
    assert heads.lo.tolist() == [0.0, 0.0, -2.0] and heads.hi.tolist() == [1.0, 1.0, 0.0]
    R_raw, R_norm = heads(batch, TASKS)
    assert R_raw.shape == R_norm.shape == (8, 3)
    assert_pinned(R_raw[:, 2], [-1, 0, -1, -2, -3, 0, NAN, NAN])
    assert_pinned(R_norm[:, 2], [0.5, 1, 0.5, 0, 0, 1, NAN, NAN])  # -3 clips to 0
    assert_pinned(R_norm[:, 0], [1, 0, 1, 0, 1, 0, 0, 0])
    assert_pinned(R_norm[:, 1], [0.5, 1, 0.5, 0, 0, 1, 1, 1])


def test_reward_heads_score_against_the_tasks_the_batch_carries(batch: RolloutBatch) -> None:
    heads = RewardHeads([Accuracy(), ToolEfficiency(budget=2)])
    with pytest.raises(ValueError, match="carries no tasks; pass tasks="):
        heads(batch)
    carried = dataclasses.replace(batch, tasks=list(TASKS))
    for got, want in zip(heads(carried), heads(batch, TASKS), strict=True):
        assert torch.equal(got.nan_to_num(-9), want.nan_to_num(-9))


def test_reward_heads_masks(batch: RolloutBatch) -> None:
    masks = RewardHeads([Accuracy(), ToolEfficiency()]).masks(batch)  # [N, K, T]
    assert masks.shape == (8, 2, T)
    assert masks[0, 0].tolist() == [1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0]
    assert masks[0, 1].tolist() == [1, 1, 1, 1] + [0] * 8  # only the calculator turn
    assert masks[1, 1].sum() == 0  # no call, nothing to charge


def test_from_names_order_and_options(batch: RolloutBatch) -> None:
    heads = RewardHeads.from_names(
        ["tool_efficiency", "accuracy", "brevity", "format"], tool_budget=2, max_tokens=10
    )
    assert heads.names == ["tool_efficiency", "accuracy", "brevity", "format"]
    assert heads.index("brevity") == 2
    R_raw, _ = heads(batch, TASKS)
    assert_pinned(R_raw[:, 0], [0.5, 1, 0.5, 0, 0, 1, 1, 1])
    assert_pinned(R_raw[:, 2], [0.3, 0.8, 0.3, 0.6, 0.1, 0.0, 0.5, 0.4])
    f1 = RewardHeads.from_names(["accuracy"], accuracy_mode="f1")(batch, TASKS)[0]
    assert math.isclose(f1[6, 0].item(), 2 / 3)


def test_partial_nan_in_a_group_names_the_head(batch: RolloutBatch) -> None:
    heads = RewardHeads([Accuracy(), Scripted([NAN, 1, 1, 1, 1, 1, NAN, NAN], name="leaky")])
    with pytest.raises(
        ValueError, match=r"head 'leaky' gave NaN to only some rows of group\(s\) \[0\]"
    ):
        heads(batch, TASKS)


def test_whole_group_nan_is_accepted(batch: RolloutBatch) -> None:
    heads = RewardHeads([Scripted([NAN, NAN, 1, 1, 0, 0, NAN, NAN])])
    R_raw, R_norm = heads(batch, TASKS)
    assert torch.isnan(R_norm[:, 0]).tolist() == [
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.0] * 7, r"head 'scripted' returned shape \(7,\)"),
        ([[1.0]] * 8, r"head 'scripted' returned shape \(8, 1\)"),
        ([1, 1, math.inf, 1, 1, 1, 1, 1], r"head 'scripted' returned \+-inf at rows \[2\]"),
    ],
)
def test_bad_head_output(batch: RolloutBatch, values: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RewardHeads([Scripted(values)])(batch, TASKS)


# ------------------------------------------------------------------ errors


def test_unknown_name_lists_known() -> None:
    with pytest.raises(ValueError, match=r"unknown objective\(s\) \['speed'\].*'tool_efficiency'"):
        RewardHeads.from_names(["accuracy", "speed"])


def test_brevity_by_name_needs_max_tokens() -> None:
    with pytest.raises(ValueError, match="max_tokens is required"):
        RewardHeads.from_names(["brevity"])


def test_duplicate_names() -> None:
    with pytest.raises(ValueError, match=r"heads: duplicate name\(s\) \['accuracy'\]"):
        RewardHeads([Accuracy(), Accuracy(mode="f1")])
    assert RewardHeads([Accuracy(), Accuracy(mode="f1", name="accuracy_f1")]).names[1] == (
        "accuracy_f1"
    )


def test_empty_or_non_head() -> None:
    with pytest.raises(ValueError, match="at least one RewardHead"):
        RewardHeads([])
    with pytest.raises(ValueError, match=r"heads\[1\] must be a RewardHead"):
        RewardHeads([Accuracy(), "format"])  # type: ignore[list-item]


def test_wrong_number_of_tasks(batch: RolloutBatch) -> None:
    with pytest.raises(ValueError, match="tasks has 4 entries but the batch has 8 rows"):
        Format()(batch, TASKS[::2])
    with pytest.raises(ValueError, match="tasks has 4 entries but the batch has 8 rows"):
        RewardHeads([Format()])(batch, TASKS[::2])


def test_tiled_tasks_are_rejected(batch: RolloutBatch) -> None:
    tiled = [ARITH, KBQA, GSM8K, QA] * 2
    with pytest.raises(ValueError, match=r"tasks\[1\] \(id 'k-1'\) differs from tasks\[0\]"):
        RewardHeads([Format()])(batch, tiled)


def test_rows_not_a_multiple_of_group_size() -> None:
    batch = make_batch(ROWS, group_size=3)
    with pytest.raises(ValueError, match="multiple of group_size=3"):
        RewardHeads([Format()])(batch, TASKS)


# ------------------------------------------------------------------ from config


def test_reward_heads_from_yaml_with_a_user_head(batch: RolloutBatch) -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(RewardHeads, "rewards")
    yaml = f"""
rewards:
  heads:
    - class_path: lightning_paretopo.rewards.Accuracy
      init_args: {{mode: f1}}
    - class_path: {NegativeCalls.__module__}.NegativeCalls
"""
    heads = parser.instantiate(parser.parse_string(yaml)).rewards
    assert heads.names == ["accuracy", "neg_calls"]
    R_raw, R_norm = heads(batch, TASKS)
    assert_pinned(R_raw[:, 0], [1, 0, 1, 0, 1, 0, 2 / 3, 0])
    assert_pinned(R_norm[:, 1], [0.5, 1, 0.5, 0, 0, 1, NAN, NAN])
