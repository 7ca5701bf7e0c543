"""Action-level, dominance-aware credit assignment (ALGORITHM.md, stage 2 step 4, S4).

Contract (N = B*G rows, groups contiguous, K objectives, T tokens):

- Each objective k has an attribution: ``"all"`` (accuracy, format, brevity: every sampled
  token, M_k(i, t) = action_mask[i, t]) or ``"tool_turns"`` (tool_efficiency: the sampled
  tokens of the turns that issued a tool call). ``attribution_masks`` stacks them into [N, K, T].
- Objective k is *eligible* in row i when its mask is non-empty there and r~_ik is not NaN.
- "Dominates" is the relation of the compared vectors (ALGORITHM.md S5: r~ under
  ``dominance: pareto``, the gated r^ under ``gated``; ``compared`` argument, default r~);
  the gaps below are always on r~.
- Shares beta_ik >= 0, summing to 1 over the eligible objectives of row i:
  if A_i < 0, beta_ik is proportional to mean_{j in the group, j dominates i}
  max(0, r~_jk - r~_ik) (where i falls short); if A_i >= 0, to mean_{j in the group, i
  dominates j} max(0, r~_ik - r~_jk) (where i wins). With no such j, or when every eligible
  term is 0, beta is uniform over the eligible objectives. A row with no eligible objective
  gets beta = 0 (so zero token advantages).
- Token advantages: a_it = A_i * sum_k beta_ik M_k(i, t). With credit off, a_it = A_i *
  action_mask[i, t].

Example (ALGORITHM.md): i and j are both correct, i used 3 tool calls and j 1. j dominates i
only on tool_efficiency, so beta_i = (accuracy 0, tool_efficiency 1): i's negative advantage
lands exactly on its tool-calling turns and its other tokens get exactly 0.

Everything is batched with the group dominance matrix; there is no loop over rows or groups.
Not done here: the trajectory advantages A themselves (``pareto_rank.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lightning_paretopo.advantages.group import as_groups
from lightning_paretopo.pareto.dominance import dominance_matrix, fill_inapplicable

ATTRIBUTIONS = ("all", "tool_turns")


def attribution_masks(
    action_mask: Tensor, tool_turn_mask: Tensor, attributions: list[str]
) -> Tensor:
    """Per-objective token attribution masks.

    Args:
        action_mask: [N, T] 1 on sampled tokens.
        tool_turn_mask: [N, T] 1 on sampled tokens of turns that issued a tool call
            (``RolloutBatch.tool_turn_mask()``); intersected with ``action_mask``.
        attributions: one of ``ATTRIBUTIONS`` per objective, in R's column order.

    Returns:
        [N, K, T] masks in ``action_mask``'s dtype.
    """
    if action_mask.ndim != 2 or tool_turn_mask.shape != action_mask.shape:
        raise ValueError(
            f"action_mask and tool_turn_mask must both be [N, T], got "
            f"{tuple(action_mask.shape)} and {tuple(tool_turn_mask.shape)}"
        )
    bad = [a for a in attributions if a not in ATTRIBUTIONS]
    if not attributions or bad:
        raise ValueError(f"attributions must be a non-empty list of {ATTRIBUTIONS}, got {bad}")
    sampled = action_mask != 0  # [N, T]
    tool = sampled & (tool_turn_mask != 0)  # [N, T]
    per = [sampled if a == "all" else tool for a in attributions]
    return torch.stack(per, dim=1).to(action_mask.dtype)  # [N, K, T]


def _check_credit_inputs(A: Tensor, R: Tensor, masks: Tensor) -> None:
    if R.ndim != 2 or not R.is_floating_point():
        raise ValueError(f"R must be a float [N, K] tensor, got {R.dtype} {tuple(R.shape)}")
    if A.shape != R.shape[:1]:
        raise ValueError(f"A must be [N] = [{R.shape[0]}], got {tuple(A.shape)}")
    if masks.ndim != 3 or masks.shape[:2] != R.shape:
        raise ValueError(
            f"masks must be [N, K, T] with [N, K] = {list(R.shape)}, got {tuple(masks.shape)}"
        )


def credit_shares(
    A: Tensor, R: Tensor, group_size: int, masks: Tensor, compared: Tensor | None = None
) -> Tensor:
    """Blame/credit shares beta over objectives (see the module docstring).

    Args:
        A: [N] trajectory advantages (only their sign is read).
        R: [N, K] normalised rewards (NaN = not applicable, whole groups only).
        group_size: G.
        masks: [N, K, T] attribution masks.
        compared: [N, K] the vectors whose dominance picks the partners j (S5's gated
            vectors); None for R itself. The gaps are always taken on R.

    Returns:
        [N, K] beta in R's dtype; each row sums to 1 if it has an eligible objective, else 0.
    """
    _check_credit_inputs(A, R, masks)
    N, K = R.shape
    Rg = fill_inapplicable(as_groups(R, group_size, "R"))  # [B, G, K], NaN columns -> 0
    B, G, _ = Rg.shape
    eligible = ((masks != 0).any(dim=-1) & ~torch.isnan(R)).to(R.dtype)  # [N, K]
    C = Rg if compared is None else as_groups(compared, group_size, "compared")  # [B, G, K]
    D = dominance_matrix(C)  # [B, G, G]: D[b, i, j] = i dominates j
    diff = Rg.unsqueeze(-3) - Rg.unsqueeze(-2)  # [B, G, G, K]: r~_jk - r~_ik
    neg = (A.reshape(B, G) < 0).unsqueeze(-1)  # [B, G, 1]
    partners = torch.where(neg, D.transpose(-1, -2), D).to(R.dtype)  # [B, G, G]
    gap = torch.where(neg.unsqueeze(-1), diff, -diff).clamp_min(0)  # [B, G, G, K]
    mean_gap = (gap * partners.unsqueeze(-1)).sum(dim=-2)  # [B, G, K]
    mean_gap = mean_gap / partners.sum(dim=-1, keepdim=True).clamp_min(1)
    score = mean_gap.reshape(N, K) * eligible  # [N, K]
    total = score.sum(dim=-1, keepdim=True)  # [N, 1]
    uniform = eligible / eligible.sum(dim=-1, keepdim=True).clamp_min(1)  # [N, K]
    return torch.where(total > 0, score / total.clamp_min(torch.finfo(R.dtype).tiny), uniform)


def token_advantages(
    A: Tensor,
    R: Tensor,
    group_size: int,
    masks: Tensor,
    credit: bool = True,
    action_mask: Tensor | None = None,
    compared: Tensor | None = None,
) -> Tensor:
    """Per-token advantages a_it, with or without dominance-aware credit.

    Args:
        A: [N] trajectory advantages.
        R: [N, K] normalised rewards.
        group_size: G.
        masks: [N, K, T] attribution masks (``attribution_masks``).
        credit: True for a_it = A_i sum_k beta_ik M_k(i, t); False for A_i * action_mask.
        action_mask: [N, T] used when ``credit`` is False; defaults to the union of ``masks``
            (equal to the action mask whenever some objective has attribution ``"all"``).
        compared: [N, K] the vectors whose dominance picks the partners (``credit_shares``).

    Returns:
        [N, T] token advantages in A's dtype; 0 wherever no mask covers the token.
    """
    _check_credit_inputs(A, R, masks)
    M = (masks != 0).to(A.dtype)  # [N, K, T]
    if not credit:
        if action_mask is None:
            sampled = M.amax(dim=1)  # [N, T]
        elif action_mask.shape != (masks.shape[0], masks.shape[2]):
            raise ValueError(f"action_mask must be [N, T], got {tuple(action_mask.shape)}")
        else:
            sampled = (action_mask != 0).to(A.dtype)  # [N, T]
        return A.unsqueeze(-1) * sampled
    beta = credit_shares(A, R, group_size, masks, compared).to(A.dtype)  # [N, K]
    return A.unsqueeze(-1) * (beta.unsqueeze(-1) * M).sum(dim=1)  # [N, T]
