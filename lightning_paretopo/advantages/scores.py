"""Stage-2 scores other than ``rank`` (ALGORITHM.md S6): ``hv_gradient`` and ``paper``.

Contract (N = B*G rows, groups contiguous, K objectives, r~ in [0, 1], NaN = not applicable
for whole groups only), each group-normalised as stage 2 step 3 (``group_normalize``, unbiased
std, eps = 1e-6; a group whose scores are all equal gets exactly 0):

- ``hv_gradient_advantages``: u_i = sum_k g_k (r~_ik - pbar_k), with pbar the group's
  nan-aware mean point and g_k = prod_{j != k} pbar_j, the gradient of HV({pbar}) with
  reference 0. An objective that does not apply to the group (NaN column) is left out of the
  sum and of every product (as if HV were taken over the applicable objectives). No fronts, no
  tau, no w*. A rollout that dominates another never scores lower (g >= 0); a group with no
  right answer has pbar_acc = 0, so g_k = 0 for every other objective.
- ``paper_rank_advantages`` (the paper's reported stage 2, "The paper's reported formulas"):
  rho_i = front + 1 of the given vectors (1 = non-dominated), N_rank = the group's number of
  fronts, A_i = (N_rank - rho_i + 1) + beta (rhat_i - 0.5) with rhat_i the utility w . r~
  min-max normalised among the rows of rho_i (0.5 when they are all equal); then
  group-normalised [ours].

Not done here: the choice of compared vectors (``compare.py``), token credit (``credit.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from lightning_paretopo.advantages.group import as_groups, group_normalize, scalarize
from lightning_paretopo.pareto.dominance import fill_inapplicable, non_dominated_ranks

Score = Literal["rank", "hv_gradient", "paper"]
SCORES: tuple[str, ...] = get_args(Score)


def hv_gradient_scores(R: Tensor, group_size: int) -> Tensor:
    """u [B, G] of the ``hv_gradient`` score (module docstring).

    Args:
        R: [N, K] normalised rewards.
        group_size: G.

    Returns:
        [B, G] float64 scores, zero-mean per group.
    """
    Rg = as_groups(R, group_size, "R").double()  # [B, G, K]
    Y = fill_inapplicable(Rg)  # [B, G, K]; raises on a partly NaN column
    applies = ~torch.isnan(Rg).all(dim=1)  # [B, K]
    pbar = Y.mean(dim=1)  # [B, K]
    factors = torch.where(applies, pbar, torch.ones_like(pbar))  # [B, K]
    K = R.shape[1]
    g = torch.stack(
        [torch.cat([factors[:, :k], factors[:, k + 1 :]], dim=1).prod(dim=1) for k in range(K)],
        dim=1,
    )  # [B, K]: prod_{j != k} pbar_j
    g = torch.where(applies, g, torch.zeros_like(g))
    return (g.unsqueeze(1) * (Y - pbar.unsqueeze(1))).sum(dim=-1)  # [B, G]


def hv_gradient_advantages(R: Tensor, group_size: int, eps: float = 1e-6) -> Tensor:
    """[N] stage-2 advantages of the ``hv_gradient`` score, in R's dtype."""
    u = hv_gradient_scores(R, group_size)  # [B, G]
    return group_normalize(u.reshape(-1), group_size, "group", eps).to(R.dtype)


def paper_rank_scores(
    compared: Tensor, R: Tensor, group_size: int, weights: Tensor | Sequence[float], beta: float
) -> Tensor:
    """A [B, G] of the paper's formula, before group normalisation.

    Args:
        compared: [N, K] the vectors ranked (plain r~ in ``paretopo_paper``).
        R: [N, K] normalised rewards, for the utility w . r~.
        group_size: G.
        weights: [K] the utility weights w0.
        beta: the within-rank scale (the summaries report beta <= 1).

    Returns:
        [B, G] float64 (N_rank - rho + 1) + beta (rhat - 0.5).
    """
    fronts = non_dominated_ranks(as_groups(compared, group_size, "compared"))  # [B, G]
    rho = fronts + 1  # [B, G], 1 = non-dominated
    n_rank = rho.amax(dim=1, keepdim=True)  # [B, 1]
    util = as_groups(scalarize(R, weights).double(), group_size, "utility")  # [B, G]
    mates = fronts.unsqueeze(-1) == fronts.unsqueeze(-2)  # [B, G, G]
    inf = torch.full_like(util, torch.inf).unsqueeze(1).expand_as(mates)  # [B, G, G]
    values = util.unsqueeze(1).expand_as(mates)  # [B, G, G]: [b, i, j] = util_j
    lo = torch.where(mates, values, inf).amin(dim=-1)  # [B, G]
    hi = torch.where(mates, values, -inf).amax(dim=-1)  # [B, G]
    spread = hi - lo
    rhat = torch.where(spread > 0, (util - lo) / spread.clamp_min(1e-300), 0.5)  # [B, G]
    return (n_rank - rho + 1).double() + beta * (rhat - 0.5)


def paper_rank_advantages(
    compared: Tensor,
    R: Tensor,
    group_size: int,
    weights: Tensor | Sequence[float],
    beta: float = 1.0,
    eps: float = 1e-6,
) -> Tensor:
    """[N] the paper's stage-2 advantages, group-normalised [ours], in R's dtype."""
    A = paper_rank_scores(compared, R, group_size, weights, beta)  # [B, G]
    return group_normalize(A.reshape(-1), group_size, "group", eps).to(R.dtype)
