"""Held-out evaluation bookkeeping: sums that can be all-gathered, then the reported point.

Per evaluated row: accuracy (the raw accuracy objective, 1/0 or F1), tool calls, and the
normalised reward vector. ``summarize`` turns the (rank-summed) sums into

- ``accuracy``: mean accuracy;
- ``tool_calls``: mean tool calls per task;
- ``tool_productivity``: correct answers per tool call, sum(correct) / max(sum(calls), 1)
  (a run that never calls a tool therefore reports its number of correct answers);
- ``point``: the nan-aware mean normalised reward vector [K] (the run's validation point).

``add_validation_point`` puts a validation point into the run's archive of validation points
and returns val/hv (the HV of their non-dominated set against the zero reference) and the point's
HV contribution (what ``hv_meta`` reads); a point with a NaN entry is not archived.

``train_metrics`` gives the per-step training report of ALGORITHM.md ("What a run must
report") that depends on the rollout alone: train/reward/<objective> (the nan-aware mean raw
reward; left out when the objective applies to no row), train/weights/<objective>,
train/accuracy, train/tool_calls, train/invalid_calls, train/truncated and
train/response_tokens (means per trajectory).

Not done here: logging (the module logs, adding train/hv, train/stage and the loss statistics).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.pareto import ParetoArchive
from lightning_paretopo.types import RolloutBatch

REPORTED = ("accuracy", "tool_calls", "tool_productivity")
"""The evaluation metrics logged as val/<name> and test/<name> (besides val/hv)."""


class EvalAccumulator:
    """Running sums over one evaluation epoch.

    Args:
        names: objective names, in column order (K of them).
        accuracy_index: the accuracy column, or None when no objective is named accuracy.
    """

    def __init__(self, names: list[str], accuracy_index: int | None) -> None:
        self.K = len(names)
        self.accuracy_index = accuracy_index
        self.reset()

    def reset(self) -> None:
        self._sums = torch.zeros(3 + 2 * self.K, dtype=torch.float64)

    def add(self, R_raw: Tensor, R: Tensor, batch: RolloutBatch) -> None:
        """Add rows: R_raw, R [N, K]; the batch gives tool calls [N]."""
        N = R.shape[0]
        correct = 0.0 if self.accuracy_index is None else R_raw[:, self.accuracy_index].nansum()
        present = ~torch.isnan(R)  # [N, K]
        self._sums += torch.cat(
            [
                torch.tensor(
                    [N, float(correct), float(batch.tool_calls.sum())], dtype=torch.float64
                ),
                torch.nan_to_num(R.double().cpu()).sum(dim=0),  # [K]
                present.double().cpu().sum(dim=0),  # [K]
            ]
        )

    def sums(self, device: torch.device) -> Tensor:
        """[3 + 2K] the sums of this process, for ``all_gather``."""
        return self._sums.to(device)

    def summarize(self, sums: Tensor) -> dict[str, Any]:
        """The reported metrics from (possibly rank-summed) ``sums`` [3 + 2K]."""
        n, correct, calls = (float(v) for v in sums[:3])
        totals, counts = sums[3 : 3 + self.K], sums[3 + self.K :]
        point = torch.where(counts > 0, totals / counts.clamp_min(1), torch.nan)  # [K]
        return {
            "n": int(n),
            "accuracy": correct / n if n and self.accuracy_index is not None else float("nan"),
            "tool_calls": calls / n if n else float("nan"),
            "tool_productivity": correct / max(calls, 1.0),
            "point": point.tolist(),
        }


def add_validation_point(archive: ParetoArchive, point: list[float]) -> tuple[float, float | None]:
    """Archive a validation ``point`` [K]; returns (val/hv, its HV contribution or None).

    The contribution is measured against the archive before the point joins it; None when the
    point has a NaN entry (then it is not archived and val/hv is the archive's HV as it was).
    """
    p = torch.tensor(point, dtype=torch.float64)  # [K]
    contribution = None
    if not torch.isnan(p).any():
        contribution = archive.contribution(p)
        archive.add(p.unsqueeze(0))
    hv = archive.hypervolume() if len(archive) else 0.0
    return hv, contribution


def train_metrics(
    names: list[str],
    accuracy_index: int | None,
    R_raw: Tensor,
    batch: RolloutBatch,
    weights: Tensor,
) -> dict[str, float]:
    """The rollout part of the training report (module docstring).

    Args:
        names: objective names, in column order.
        accuracy_index: the accuracy column, or None.
        R_raw: [N, K] raw rewards (NaN = not applicable).
        batch: the rollout (tool calls, invalid calls, truncation, action mask).
        weights: [K] the weights this step scalarised with.
    """
    metrics: dict[str, float] = {}
    for k, name in enumerate(names):
        column = R_raw[:, k]  # [N]
        if not torch.isnan(column).all():
            metrics[f"train/reward/{name}"] = float(column.nanmean())
        metrics[f"train/weights/{name}"] = float(weights[k])
    if accuracy_index is not None:
        metrics["train/accuracy"] = float(R_raw[:, accuracy_index].nanmean())
    metrics["train/tool_calls"] = float(batch.tool_calls.float().mean())
    metrics["train/invalid_calls"] = float(batch.invalid_calls.float().mean())
    metrics["train/truncated"] = float(batch.truncated.float().mean())
    metrics["train/response_tokens"] = float(batch.action_mask.sum(1).float().mean())
    return metrics
