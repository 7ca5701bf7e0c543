"""Pareto dominance, non-dominated sorting and crowding, batched over groups.

Convention: every objective is maximised. ``a`` dominates ``b`` when ``a >= b`` in every
objective and ``a > b`` in at least one. Equal points do not dominate each other, so
duplicates share a front.

NaN means "objective not applicable". Within one set (the last two dimensions), a column that
is NaN in every row is ignored; a column NaN in only some rows cannot be compared and raises
``ValueError``. Sets in a batch are checked independently.

Not done here: hypervolume (``hypervolume.py``) and anything stateful (``archive.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor


def fill_inapplicable(Y: Tensor) -> Tensor:
    """Replace columns that are NaN in every row of a set with 0, so they never decide.

    Args:
        Y: [..., M, K] objective values.

    Returns:
        [..., M, K] the same values with all-NaN columns zeroed.

    Raises:
        ValueError: a column is NaN in some rows of a set but not all of them.
    """
    nan = torch.isnan(Y)  # [..., M, K]
    if not nan.any():
        return Y
    all_nan = nan.all(dim=-2, keepdim=True)  # [..., 1, K]
    partial = nan.any(dim=-2) & ~all_nan.squeeze(-2)  # [..., K]
    if partial.any():
        cols = sorted({int(k) for k in partial.nonzero()[:, -1]})
        raise ValueError(
            f"objective column(s) {cols} are NaN in some rows of a set but not all: "
            "NaN means 'not applicable' and must hold for the whole set (group). "
            "Fix the reward head so it returns NaN for every row of a task or for none."
        )
    return Y.masked_fill(all_nan.expand_as(Y), 0.0)


def dominance_matrix(Y: Tensor) -> Tensor:
    """Pairwise dominance within each set.

    Args:
        Y: [..., M, K] objective values (NaN columns as in the module docstring).

    Returns:
        BoolTensor [..., M, M]; entry ``[..., i, j]`` is True when row i dominates row j.
    """
    Y = fill_inapplicable(Y)
    a = Y.unsqueeze(-2)  # [..., M, 1, K] (row i)
    b = Y.unsqueeze(-3)  # [..., 1, M, K] (row j)
    return (a >= b).all(dim=-1) & (a > b).any(dim=-1)  # [..., M, M]


def non_dominated_ranks(Y: Tensor) -> Tensor:
    """Non-dominated sorting (Deb et al. 2002): the front index of every row.

    Front 0 is non-dominated within its set; front f+1 is non-dominated once fronts 0..f are
    removed. All sets of the batch are sorted at once.

    Args:
        Y: [..., M, K] objective values.

    Returns:
        LongTensor [..., M] front indices (0 = non-dominated).
    """
    D = dominance_matrix(Y)  # [..., M, M]
    ranks = torch.full(D.shape[:-1], -1, dtype=torch.long, device=Y.device)  # [..., M]
    remaining = torch.ones_like(ranks, dtype=torch.bool)  # [..., M]
    dominators = D.sum(dim=-2)  # [..., M]: rows still present that dominate each row
    front = 0
    while bool(remaining.any()):
        current = remaining & (dominators == 0)  # [..., M]
        ranks[current] = front
        remaining &= ~current
        dominators = (D & remaining.unsqueeze(-1)).sum(dim=-2)
        front += 1
    return ranks


def is_non_dominated(Y: Tensor) -> Tensor:
    """BoolTensor [..., M]: True for rows no other row of their set dominates (duplicates kept)."""
    return ~dominance_matrix(Y).any(dim=-2)


def domination_count(Y: Tensor) -> Tensor:
    """LongTensor [..., M]: how many rows of its set each row dominates."""
    return dominance_matrix(Y).sum(dim=-1)


def crowding_distance(Y: Tensor) -> Tensor:
    """Crowding distance (Deb et al. 2002) of each row within its set.

    Per objective, rows are sorted; the two boundary rows get ``inf`` and interior rows the
    gap between their neighbours divided by the objective's range. An objective whose range
    is 0 (all-NaN columns, a single row, identical rows) contributes 0 to every row, so a set
    of one row gets 0 and a set of two distinct rows gets ``inf`` for both. Ties are broken by
    row order (stable sort).

    Args:
        Y: [..., M, K] objective values, typically one front.

    Returns:
        Tensor [..., M] crowding distances (larger = more isolated).
    """
    Y = fill_inapplicable(Y).to(torch.float64)
    M = Y.shape[-2]
    vals, order = torch.sort(Y, dim=-2, stable=True)  # [..., M, K]
    span = vals[..., -1:, :] - vals[..., :1, :]  # [..., 1, K]
    gap = torch.zeros_like(vals)  # [..., M, K], in sorted order
    if M > 2:
        gap[..., 1:-1, :] = (vals[..., 2:, :] - vals[..., :-2, :]) / span.clamp_min(1e-300)
    gap[..., 0, :] = torch.inf
    gap[..., -1, :] = torch.inf
    gap = torch.where(span > 0, gap, torch.zeros_like(gap))
    per_objective = torch.zeros_like(gap).scatter_(-2, order, gap)  # back to row order
    return per_objective.sum(dim=-1)
