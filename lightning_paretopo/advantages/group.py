"""Reward normalisation, group normalisation and linear scalarisation (ALGORITHM.md, stage 1).

Contract (N = B*G rows, groups contiguous: rows ``g*G .. g*G+G-1`` form group g; K objectives):

- ``normalize_rewards``: r~_k = clip((r_k - lo_k) / (hi_k - lo_k), 0, 1); NaN ("not
  applicable") stays NaN.
- ``group_normalize``: A_i = (s_i - mean_group(s)) / (std_group(s) + eps) with ``scale="group"``,
  or s_i - mean_group(s) with ``scale="none"``. The std is the unbiased (Bessel-corrected) one,
  as ``torch.std`` and TRL's GRPO use. A group whose scores are all equal (including a group of
  one) gets exactly 0, whatever the rounding of its mean. The statistics are computed in float64
  and the result returned in the input dtype.
- ``scalarize``: s_i = sum_k w_k r~_ik, with w renormalised over the objectives that apply to
  row i (non-NaN), ALGORITHM.md stage 1 step 4.
- ``scalarized_advantages``: ``group_normalize(scalarize(R, w))``, stage 1 step 5. The same call
  serves the static baselines and stage 1's dynamic weights: the caller passes the weights.

Not done here: the weights themselves (``pareto/``), any state, anything on tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

Scale = Literal["group", "none"]
SCALES: tuple[str, ...] = get_args(Scale)


def as_groups(x: Tensor, group_size: int, name: str) -> Tensor:
    """View rows ``[N, ...]`` as ``[B, G, ...]`` after checking that groups tile the rows."""
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be an int >= 1, got {group_size!r}")
    if x.ndim == 0 or x.shape[0] % group_size != 0:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}: its rows must be a multiple of group_size="
            f"{group_size}; pass N = B*G rows with each group's rows contiguous"
        )
    return x.reshape(x.shape[0] // group_size, group_size, *x.shape[1:])


def check_scale(scale: str, eps: float) -> None:
    """Validate the ``scale`` option and ``eps`` shared by the group normalisations."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")


def as_weights(weights: Tensor | Sequence[float], like: Tensor, name: str = "weights") -> Tensor:
    """Weights ``[K]`` as a tensor on ``like``'s device and dtype; finite and >= 0."""
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)  # [K]
    if w.ndim != 1 or w.shape[0] != like.shape[-1]:
        raise ValueError(
            f"{name} must have shape [K] = [{like.shape[-1]}] (one per objective), "
            f"got {tuple(w.shape)}"
        )
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError(f"{name} must be finite and >= 0, got {w.tolist()}")
    return w


def zscore_groups(x: Tensor, scale: str, eps: float) -> Tensor:
    """Normalise ``x [B, G, ...]`` over dim 1 (the group); all-equal slices become exactly 0.

    NaN slices stay NaN (a NaN is never "all equal"), so inapplicable objectives propagate.
    Computed in float64 and returned in x's dtype: in float32, a spread small next to the
    scores' magnitude (0.80 vs 0.85) leaves a group mean of ~1e-6 after the division by std.
    """
    if x.shape[1] == 1:
        return torch.where(torch.isnan(x), x, torch.zeros_like(x))
    x64 = x.double()  # [B, G, ...]
    centred = x64 - x64.mean(dim=1, keepdim=True)  # [B, G, ...]
    if scale == "group":
        centred = centred / (x64.std(dim=1, keepdim=True) + eps)
    tied = x.amax(dim=1, keepdim=True) == x.amin(dim=1, keepdim=True)  # [B, 1, ...]
    return torch.where(tied, torch.zeros_like(centred), centred).to(x.dtype)


def normalize_rewards(
    R_raw: Tensor, lo: Tensor | Sequence[float], hi: Tensor | Sequence[float]
) -> Tensor:
    """Map raw rewards to [0, 1] with each objective's declared bounds; NaN is preserved.

    Args:
        R_raw: [N, K] raw rewards, NaN = not applicable.
        lo: [K] lower bounds.
        hi: [K] upper bounds, each > lo.

    Returns:
        [N, K] r~ = clip((r - lo) / (hi - lo), 0, 1).
    """
    if R_raw.ndim != 2:
        raise ValueError(f"R_raw must be [N, K], got shape {tuple(R_raw.shape)}")
    dtype = R_raw.dtype if R_raw.is_floating_point() else torch.get_default_dtype()
    R_raw = R_raw.to(dtype)
    lo_t = torch.as_tensor(lo, dtype=dtype, device=R_raw.device)  # [K]
    hi_t = torch.as_tensor(hi, dtype=dtype, device=R_raw.device)  # [K]
    for name, b in (("lo", lo_t), ("hi", hi_t)):
        if b.shape != R_raw.shape[-1:]:
            raise ValueError(f"{name} must have shape [K] = [{R_raw.shape[-1]}], got {b.shape}")
    if not bool((hi_t > lo_t).all()):
        raise ValueError(f"each bound needs hi > lo, got lo={lo_t.tolist()}, hi={hi_t.tolist()}")
    return ((R_raw - lo_t) / (hi_t - lo_t)).clamp(0.0, 1.0)  # clamp keeps NaN


def group_normalize(
    scores: Tensor, group_size: int, scale: str = "group", eps: float = 1e-6
) -> Tensor:
    """Group-relative advantages of per-row scores (see the module docstring).

    Args:
        scores: [N] finite scores, groups contiguous.
        group_size: G.
        scale: ``"group"`` divides by the unbiased group std + eps; ``"none"`` only centres.
        eps: added to the std.

    Returns:
        [N] advantages, zero-mean per group; exactly 0 for all-equal groups.
    """
    check_scale(scale, eps)
    if scores.ndim != 1:
        raise ValueError(f"scores must be [N], got shape {tuple(scores.shape)}")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores must be finite (no NaN/inf); scalarize NaN rewards first")
    s = as_groups(scores, group_size, "scores")  # [B, G]
    return zscore_groups(s, scale, eps).reshape(-1)


def scalarize(R: Tensor, weights: Tensor | Sequence[float]) -> Tensor:
    """Weighted sum of normalised rewards, weights renormalised over applicable objectives.

    Args:
        R: [N, K] normalised rewards, NaN = not applicable.
        weights: [K] non-negative weights (need not sum to 1).

    Returns:
        [N] s_i = sum_k w_k r~_ik / sum_{k applicable to i} w_k.

    Raises:
        ValueError: a row has no applicable objective with positive weight.
    """
    if R.ndim != 2 or not R.is_floating_point():
        raise ValueError(f"R must be a float [N, K] tensor, got {R.dtype} {tuple(R.shape)}")
    w = as_weights(weights, R)  # [K]
    applies = ~torch.isnan(R)  # [N, K]
    w_row = w * applies  # [N, K]
    total = w_row.sum(dim=-1)  # [N]
    if bool((total <= 0).any()):
        rows = (total <= 0).nonzero().flatten().tolist()[:5]
        raise ValueError(
            f"rows {rows} of R have no applicable objective with positive weight: give every "
            "row at least one non-NaN reward whose weight is > 0"
        )
    return (w_row * torch.where(applies, R, torch.zeros_like(R))).sum(dim=-1) / total


def scalarized_advantages(
    R: Tensor,
    weights: Tensor | Sequence[float],
    group_size: int,
    scale: str = "group",
    eps: float = 1e-6,
) -> Tensor:
    """Stage-1 (and static-weight) advantages: ``group_normalize(scalarize(R, weights))``.

    Args:
        R: [N, K] normalised rewards.
        weights: [K] the current weights (static, or stage 1's dynamic ones).
        group_size: G.
        scale: ``"group"`` or ``"none"``.
        eps: added to the group std.

    Returns:
        [N] advantages.
    """
    return group_normalize(scalarize(R, weights), group_size, scale, eps)
