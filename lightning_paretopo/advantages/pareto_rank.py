"""Stage-2 Pareto-rank advantages (ALGORITHM.md, stage 2 steps 1-3).

Contract, per group of G normalised reward vectors (N = B*G rows, groups contiguous):

1. f_i = front index from non-dominated sorting (``non_dominated_ranks``; 0 = non-dominated,
   maximisation, NaN objectives only where a whole group is NaN).
2. u_i = -f_i + tau * b_i with 0 <= tau < 1 and a within-front tie-break b_i in [0, 1):
   b_i = #{front-mates j of i with key_j < key_i} / (size of i's front), where front-mates
   include i itself. Equal keys get equal b; the best key in a front of size F gets
   (F - 1) / F < 1, so a tie-break never crosses a front. The key (option ``tie_break``, S3):

   - ``"utility"`` (default): the scalarised utility ``scalarize(R, w*)`` under the frozen
     weights w*.
   - ``"crowding"``: the crowding distance (Deb et al. 2002) within the row's front (larger
     distance -> larger b). It is computed over the front's *distinct* points, so duplicate
     trajectories share one distance (and one b) instead of depending on row order.
   - ``"domination"``: the number of group members the row dominates.
   - ``"none"``: b = 0.
3. A_i = (u_i - mean(u)) / (std(u) + eps) with the unbiased std, as ``group_normalize``; a
   group whose scores u are all equal gets exactly 0.

Consequence pinned by the tests: a row in a better front always gets a strictly larger
advantage than a row in a worse front of the same group.

Not done here: action-level credit (``credit.py``). The ``"utility"``, ``"domination"`` and
``"none"`` paths are batched over groups; ``"crowding"`` loops over groups and fronts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from lightning_paretopo.advantages.group import as_groups, check_scale, group_normalize, scalarize
from lightning_paretopo.pareto.dominance import (
    crowding_distance,
    domination_count,
    fill_inapplicable,
    non_dominated_ranks,
)

TieBreak = Literal["utility", "crowding", "domination", "none"]
TIE_BREAKS: tuple[str, ...] = get_args(TieBreak)


def within_front_rank(key: Tensor, fronts: Tensor) -> Tensor:
    """b_i = #{front-mates with a strictly smaller key} / front size, batched over groups.

    Args:
        key: [B, G] tie-break keys (larger = better).
        fronts: [B, G] front indices.

    Returns:
        [B, G] float64 values in [0, 1).
    """
    mates = fronts.unsqueeze(-1) == fronts.unsqueeze(-2)  # [B, G, G]: i and j share a front
    below = key.unsqueeze(-2) < key.unsqueeze(-1)  # [B, G, G]: key_j < key_i
    return (mates & below).sum(dim=-1).double() / mates.sum(dim=-1).double()


def _crowding_key(Rg: Tensor, fronts: Tensor) -> Tensor:
    """[B, G] crowding distance of each row's point among its front's distinct points."""
    Y = fill_inapplicable(Rg)  # [B, G, K]
    key = torch.zeros(fronts.shape, dtype=torch.float64, device=Rg.device)  # [B, G]
    for g in range(Y.shape[0]):
        for f in fronts[g].unique().tolist():
            rows = (fronts[g] == f).nonzero().flatten()  # [F]
            points, inverse = torch.unique(Y[g, rows], dim=0, return_inverse=True)
            key[g, rows] = crowding_distance(points)[inverse]
    return key


def tie_break_scores(
    Rg: Tensor, fronts: Tensor, tie_break: str, frozen_weights: Tensor | Sequence[float] | None
) -> Tensor:
    """The within-front tie-break b in [0, 1) for every row.

    Args:
        Rg: [B, G, K] normalised rewards, grouped.
        fronts: [B, G] front indices of ``Rg``.
        tie_break: one of ``TIE_BREAKS``.
        frozen_weights: [K] w*, needed by ``"utility"``.

    Returns:
        [B, G] float64 tie-break values.
    """
    if tie_break == "none":
        return torch.zeros(fronts.shape, dtype=torch.float64, device=Rg.device)
    if tie_break == "utility":
        if frozen_weights is None:
            raise ValueError('tie_break="utility" needs frozen_weights (w*, one per objective)')
        B, G, K = Rg.shape
        key = scalarize(Rg.reshape(B * G, K), frozen_weights).reshape(B, G)
    elif tie_break == "crowding":
        key = _crowding_key(Rg, fronts)
    else:
        key = domination_count(Rg)
    return within_front_rank(key, fronts)


def pareto_rank_advantages(
    R: Tensor,
    group_size: int,
    frozen_weights: Tensor | Sequence[float] | None,
    tie_break: str = "utility",
    tau: float = 0.5,
    eps: float = 1e-6,
) -> Tensor:
    """Stage-2 trajectory advantages from Pareto fronts and a within-front tie-break.

    Args:
        R: [N, K] normalised rewards (NaN = not applicable, whole groups only).
        group_size: G.
        frozen_weights: [K] w* frozen at the switch (only read by ``tie_break="utility"``).
        tie_break: ``"utility"``, ``"crowding"``, ``"domination"`` or ``"none"``.
        tau: tie-break scale, 0 <= tau < 1.
        eps: added to the group std of u.

    Returns:
        [N] advantages A_i, in R's dtype.
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    if not 0 <= tau < 1:
        raise ValueError(f"tau must satisfy 0 <= tau < 1 so no tie-break crosses a front: {tau!r}")
    check_scale("group", eps)
    if R.ndim != 2:
        raise ValueError(f"R must be [N, K], got shape {tuple(R.shape)}")
    Rg = as_groups(R, group_size, "R")  # [B, G, K]
    fronts = non_dominated_ranks(Rg)  # [B, G]
    b = tie_break_scores(Rg, fronts, tie_break, frozen_weights)  # [B, G]
    u = -fronts.double() + tau * b  # [B, G]
    return group_normalize(u.reshape(-1), group_size, "group", eps).to(R.dtype)
