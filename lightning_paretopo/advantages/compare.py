"""What stage 2 compares (ALGORITHM.md S5) and its two diagnostics.

Contract (N = B*G rows, groups contiguous, K objectives, r~ in [0, 1], NaN = not applicable):

- ``DOMINANCES``: ``"pareto"`` (version 1) compares r~ as it is; ``"gated"`` (version-2
  default) compares r^ with r^_ik = r~_i,acc * r~_ik for every gated objective k (a head's
  ``gated`` flag) and r^_ik = r~_ik otherwise, including the accuracy column itself. With 1/0
  accuracy this is Deb's constrained domination: every right answer dominates every wrong one,
  right answers are compared on what they spent, wrong answers tie on the gated objectives.
  ``compared_rewards`` returns these vectors; non-dominated sorting, the within-front tie-break
  and the dominance relation of the credit shares read them, while the credit gaps and the
  ``hv_gradient`` score read r~.
- ``stage2_diagnostics``: ``train/stage2/wrong_in_front0``, the share of groups where a wrong
  rollout (raw accuracy <= 0.5) sits in front 0 of the compared vectors, and
  ``train/stage2/fronts``, the mean number of fronts per group.

Not done here: the advantages (``pareto_rank.py``, ``hv_score.py``, ``paper.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from lightning_paretopo.advantages.group import as_groups
from lightning_paretopo.pareto.dominance import non_dominated_ranks

Dominance = Literal["pareto", "gated"]
DOMINANCES: tuple[str, ...] = get_args(Dominance)


def gate_rewards(R: Tensor, gated: Sequence[bool], accuracy_index: int) -> Tensor:
    """r^: every gated column multiplied by the accuracy column.

    Args:
        R: [N, K] normalised rewards (NaN = not applicable).
        gated: K flags, True for the columns to gate.
        accuracy_index: column of the accuracy objective (never gated by itself).

    Returns:
        [N, K] gated vectors in R's dtype (NaN stays NaN).
    """
    if R.ndim != 2 or len(gated) != R.shape[1]:
        raise ValueError(f"R must be [N, K] with K = len(gated) = {len(gated)}, got {R.shape}")
    if not 0 <= accuracy_index < R.shape[1]:
        raise ValueError(f"accuracy_index must be a column of R, got {accuracy_index}")
    mask = torch.tensor(list(gated), dtype=torch.bool, device=R.device)  # [K]
    mask[accuracy_index] = False
    acc = R[:, accuracy_index : accuracy_index + 1]  # [N, 1]
    return torch.where(mask, acc * R, R)  # [N, K]


def compared_rewards(
    R: Tensor, dominance: str, gated: Sequence[bool], accuracy_index: int | None
) -> Tensor:
    """[N, K] the vectors stage 2 sorts: R itself (``"pareto"``) or ``gate_rewards`` (``"gated"``)."""
    if dominance not in DOMINANCES:
        raise ValueError(f"dominance must be one of {DOMINANCES}, got {dominance!r}")
    if dominance == "pareto":
        return R
    if accuracy_index is None:
        raise ValueError(
            "method.stage2.dominance='gated' needs an objective named 'accuracy'; add it to "
            "objectives or set method.stage2.dominance: pareto"
        )
    return gate_rewards(R, gated, accuracy_index)


def stage2_diagnostics(
    compared: Tensor, correct: Tensor | None, group_size: int
) -> dict[str, float]:
    """The stage-2 diagnostics of one batch.

    Args:
        compared: [N, K] the vectors stage 2 sorted.
        correct: [N] bool, or None without an accuracy objective (then only ``fronts``).
        group_size: G.

    Returns:
        ``{"train/stage2/fronts": mean fronts per group}`` plus
        ``"train/stage2/wrong_in_front0"`` (share of groups) when ``correct`` is given.
    """
    fronts = non_dominated_ranks(as_groups(compared, group_size, "compared"))  # [B, G]
    out = {"train/stage2/fronts": float((fronts.amax(dim=1) + 1).double().mean())}
    if correct is not None:
        wrong = ~as_groups(correct.bool(), group_size, "correct")  # [B, G]
        hit = (wrong & (fronts == 0)).any(dim=1)  # [B]
        out["train/stage2/wrong_in_front0"] = float(hit.double().mean())
    return out
