"""Baseline advantages from ALGORITHM.md's table: GDPO, OTC-GRPO and the hv_meta multiplier.

Contract (N = B*G rows, groups contiguous, K objectives, r~ in [0, 1], NaN = not applicable):

- ``gdpo_advantages``: z-score each objective within its group, z_ik = (r~_ik - mean) /
  (std + eps) (unbiased std; an objective that is equal across the group gets exactly 0), then
  the weighted sum sum_k w_k z_ik with w renormalised over the applicable objectives. Nothing
  else: no second batch-level normalisation. An objective must be NaN for a whole group or for
  none of it, so that every row of a group sums the same objectives (else ValueError).
- ``otc_reward`` (OTC-GRPO): r = r_tool * r_correct. With m the row's tool calls and n the
  fewest calls among its group's correct rollouts, f = 2nm / (m + n) and
  r_tool = sin(f * pi / (2n)) when n > 0, cos(m * pi / (2m + c)) when n = 0 (which gives 1 when
  m = n = 0). r_tool peaks (= 1) at m = n. A group with no correct rollout has no n; there
  r_correct = 0 for every row, so r = 0 and the group's advantages are all 0.
  ``otc_advantages`` = ``group_normalize(otc_reward(...))``.
- ``hv_meta_multiplier`` = 0.5 + 1.5 * tanh(HV contribution of the validation point) (Lu et al.
  2025, arXiv 2509.11452) and ``hv_meta_advantages`` = group_normalize(multiplier * s) with s the
  static scalarisation. With ``scale="group"`` the (positive) multiplier cancels: the result
  equals ``scalarized_advantages`` up to the eps term ((m s - m mean) / (m std + eps) =
  (s - mean) / (std + eps / m)). That is why ALGORITHM.md keeps it only as a baseline; with
  ``scale="none"`` it rescales the advantages.

Not done here: computing the HV contribution (``pareto/``) or counting tool calls (rollout).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lightning_paretopo.advantages.group import (
    as_groups,
    check_scale,
    group_normalize,
    scalarize,
    zscore_groups,
)
from lightning_paretopo.pareto.dominance import fill_inapplicable


def gdpo_advantages(
    R: Tensor, weights: Tensor | Sequence[float], group_size: int, eps: float = 1e-6
) -> Tensor:
    """GDPO: per-objective group z-scores, then their weighted sum.

    Args:
        R: [N, K] normalised rewards (NaN = not applicable, whole groups only).
        weights: [K] non-negative weights.
        group_size: G.
        eps: added to each objective's group std.

    Returns:
        [N] advantages, zero-mean per group.
    """
    check_scale("group", eps)
    if R.ndim != 2:
        raise ValueError(f"R must be [N, K], got shape {tuple(R.shape)}")
    Rg = as_groups(R, group_size, "R")  # [B, G, K]
    fill_inapplicable(Rg)  # raises if an objective is NaN in only part of a group
    Z = zscore_groups(Rg, "group", eps)  # [B, G, K], NaN columns stay NaN
    return scalarize(Z.reshape(R.shape), weights)


def otc_reward(correct: Tensor, tool_calls: Tensor, group_size: int, c: float = 1.0) -> Tensor:
    """OTC-GRPO reward r = r_tool * r_correct (see the module docstring).

    Args:
        correct: [N] bool or 0/1, whether each rollout is correct.
        tool_calls: [N] non-negative integer tool-call counts m.
        group_size: G.
        c: the smoothing constant of the n = 0 branch, > 0.

    Returns:
        [N] rewards in [0, 1], in the default float dtype.
    """
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c!r}")
    if correct.ndim != 1 or tool_calls.shape != correct.shape:
        raise ValueError(
            f"correct and tool_calls must both be [N], got {tuple(correct.shape)} and "
            f"{tuple(tool_calls.shape)}"
        )
    if correct.dtype != torch.bool and not bool(((correct == 0) | (correct == 1)).all()):
        raise ValueError("correct must be bool or 0/1")
    if tool_calls.is_floating_point() or bool((tool_calls < 0).any()):
        raise ValueError("tool_calls must be non-negative integers")
    ok = as_groups(correct.bool(), group_size, "correct")  # [B, G]
    m = as_groups(tool_calls, group_size, "tool_calls").to(torch.float64)  # [B, G]
    inf = torch.full_like(m, math.inf)
    n = torch.where(ok, m, inf).amin(dim=1, keepdim=True)  # [B, 1]; inf: nobody correct
    n = torch.where(torch.isinf(n), torch.zeros_like(n), n).expand_as(m)  # [B, G]
    f = 2 * n * m / (m + n).clamp_min(1.0)  # m + n = 0 only when both are 0, then f = 0
    r_tool = torch.where(
        n > 0,
        torch.sin(f * math.pi / (2 * n).clamp_min(1.0)),
        torch.cos(m * math.pi / (2 * m + c)),
    )
    return (r_tool * ok).reshape(-1).to(torch.get_default_dtype())


def otc_advantages(
    correct: Tensor,
    tool_calls: Tensor,
    group_size: int,
    c: float = 1.0,
    scale: str = "group",
    eps: float = 1e-6,
) -> Tensor:
    """OTC-GRPO advantages: ``group_normalize(otc_reward(correct, tool_calls))``.

    Args:
        correct: [N] bool or 0/1.
        tool_calls: [N] tool-call counts.
        group_size: G.
        c: OTC's smoothing constant.
        scale: ``"group"`` or ``"none"``.
        eps: added to the group std.

    Returns:
        [N] advantages.
    """
    return group_normalize(otc_reward(correct, tool_calls, group_size, c), group_size, scale, eps)


def hv_meta_multiplier(hv_contribution: float) -> float:
    """The meta-reward multiplier 0.5 + 1.5 * tanh(contribution), in [0.5, 2) for valid input.

    Args:
        hv_contribution: the HV contribution of the validation point, finite and >= 0 (an HV
            contribution cannot be negative; clamp float noise with ``max(0.0, x)``).
    """
    x = float(hv_contribution)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"hv_contribution must be finite and >= 0, got {hv_contribution!r}")
    return 0.5 + 1.5 * math.tanh(x)


def hv_meta_advantages(
    R: Tensor,
    weights: Tensor | Sequence[float],
    group_size: int,
    hv_contribution: float,
    scale: str = "group",
    eps: float = 1e-6,
) -> Tensor:
    """hv_meta baseline: ``group_normalize(hv_meta_multiplier(c) * scalarize(R, weights))``.

    With ``scale="group"`` the multiplier cancels up to eps (see the module docstring).

    Args:
        R: [N, K] normalised rewards.
        weights: [K] static weights.
        group_size: G.
        hv_contribution: HV contribution of the validation point (>= 0).
        scale: ``"group"`` or ``"none"``.
        eps: added to the group std.

    Returns:
        [N] advantages.
    """
    s = hv_meta_multiplier(hv_contribution) * scalarize(R, weights)  # [N]
    return group_normalize(s, group_size, scale, eps)
