"""``evaluation``: the held-out sums and reported point, val/hv bookkeeping, the train report."""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.evaluation import EvalAccumulator, add_validation_point, train_metrics
from lightning_paretopo.pareto import ParetoArchive
from lightning_paretopo.types import RolloutBatch, TurnSpan

NAN = float("nan")


def batch(tool_calls: list[int], sampled: list[int]) -> RolloutBatch:
    N, T = len(tool_calls), 6
    action_mask = torch.zeros(N, T, dtype=torch.long)
    for n, k in enumerate(sampled):
        action_mask[n, :k] = 1
    return RolloutBatch(
        input_ids=torch.zeros(N, T, dtype=torch.long),
        attention_mask=torch.ones(N, T, dtype=torch.long),
        action_mask=action_mask,
        prompt_lengths=torch.zeros(N, dtype=torch.long),
        turns=[[TurnSpan(0, k)] for k in sampled],
        tool_calls=torch.tensor(tool_calls),
        invalid_calls=torch.tensor([0] * (N - 1) + [1]),
        truncated=torch.tensor([False] * (N - 1) + [True]),
        texts=[""] * N,
        group_size=1,
    )


def test_accumulated_sums_give_the_reported_point() -> None:
    acc = EvalAccumulator(["accuracy", "tool_efficiency", "f1"], accuracy_index=0)
    # Batch 1: two rows; f1 does not apply to the second. Batch 2: one row.
    R1 = torch.tensor([[1.0, 0.5, 0.8], [0.0, 1.0, NAN]], dtype=torch.float64)
    R2 = torch.tensor([[1.0, 0.0, NAN]], dtype=torch.float64)
    acc.add(R1, R1, batch([2, 0], [3, 3]))
    acc.add(R2, R2, batch([4], [2]))
    result = acc.summarize(acc.sums(torch.device("cpu")))
    assert result["n"] == 3
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["tool_calls"] == pytest.approx(6 / 3)
    assert result["tool_productivity"] == pytest.approx(2 / 6)  # correct answers per call
    assert result["point"] == pytest.approx([2 / 3, 1.5 / 3, 0.8])  # f1 over the 1 row it has


def test_rank_sums_add_up() -> None:
    acc = EvalAccumulator(["accuracy"], accuracy_index=0)
    acc.add(torch.ones(2, 1), torch.ones(2, 1), batch([1, 1], [1, 1]))
    twice = acc.summarize(acc.sums(torch.device("cpu")) * 2)  # two identical ranks
    assert twice["n"] == 4 and twice["accuracy"] == 1.0 and twice["tool_productivity"] == 1.0


def test_no_tool_call_and_no_accuracy_objective() -> None:
    acc = EvalAccumulator(["brevity"], accuracy_index=None)
    acc.add(torch.full((2, 1), 0.5), torch.full((2, 1), 0.5), batch([0, 0], [2, 2]))
    result = acc.summarize(acc.sums(torch.device("cpu")))
    assert math.isnan(result["accuracy"]) and result["tool_productivity"] == 0.0
    acc.reset()
    assert acc.sums(torch.device("cpu")).sum() == 0


def test_validation_points_build_the_run_front() -> None:
    archive = ParetoArchive(ref=torch.zeros(2, dtype=torch.float64))
    assert add_validation_point(archive, [0.5, 0.4]) == pytest.approx((0.2, 0.2))
    # (0.2, 0.8) adds the box [0, 0.2] x [0.4, 0.8]: contribution 0.08, HV 0.28.
    assert add_validation_point(archive, [0.2, 0.8]) == pytest.approx((0.28, 0.08))
    assert add_validation_point(archive, [0.1, 0.1]) == pytest.approx((0.28, 0.0))  # dominated
    hv, contribution = add_validation_point(archive, [NAN, 0.9])
    assert hv == pytest.approx(0.28) and contribution is None and len(archive) == 2


def test_train_metrics_of_a_rollout() -> None:
    R_raw = torch.tensor([[1.0, 0.5], [0.0, NAN]], dtype=torch.float64)
    R_raw_no_te = torch.tensor([[1.0, NAN], [0.0, NAN]], dtype=torch.float64)
    weights = torch.tensor([0.7, 0.3], dtype=torch.float64)
    names = ["accuracy", "tool_efficiency"]
    metrics = train_metrics(names, 0, R_raw, batch([2, 1], [4, 2]), weights)
    assert metrics == pytest.approx(
        {
            "train/reward/accuracy": 0.5,
            "train/reward/tool_efficiency": 0.5,
            "train/weights/accuracy": 0.7,
            "train/weights/tool_efficiency": 0.3,
            "train/accuracy": 0.5,
            "train/tool_calls": 1.5,
            "train/invalid_calls": 0.5,
            "train/truncated": 0.5,
            "train/response_tokens": 3.0,
        }
    )
    sparse = train_metrics(names, None, R_raw_no_te, batch([0, 0], [1, 1]), weights)
    assert "train/reward/tool_efficiency" not in sparse and "train/accuracy" not in sparse
