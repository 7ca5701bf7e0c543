"""Token-level clipped policy-gradient loss with an optional k3 KL penalty (ALGORITHM.md, Loss).

Contract, per sampled token t of row i (``action_mask[i, t] = 1``):

    ratio_it = exp(logp_it - old_it)
    pg_it    = max(-a_it * ratio_it, -a_it * clip(ratio_it, 1 - clip_eps, 1 + clip_eps_high))
    kl_it    = exp(ref_it - logp_it) - (ref_it - logp_it) - 1          (k3, >= 0)
    loss_it  = pg_it + kl_beta * kl_it

where a_it is the token advantage (or the row advantage A_i broadcast over the row). The ratio
is 1 when each batch gets one update; ``ppo_epochs`` > 1 re-uses the batch. Aggregation:

- ``"token-mean"`` (default): sum over every masked token of the batch / number of masked tokens;
- ``"seq-mean"``: mean over the rows with >= 1 masked token of each row's token mean.

A batch without any masked token gives a loss of 0 (still attached to the graph).

Masked tokens (``action_mask = 0``: prompt, tool output, padding) contribute nothing and get
exactly zero gradient, even when their log-probs are -inf/NaN garbage: every input is replaced
by 0 there with ``torch.where`` *before* any arithmetic, so no NaN reaches the backward pass.
``old_logprobs``, ``ref_logprobs`` and ``advantages`` are treated as constants (detached).

Stats (detached): ``pg_loss`` and ``kl`` (only with ``ref_logprobs``) use the chosen
aggregation, so ``loss = pg_loss + kl_beta * kl``; ``clip_frac`` (tokens where the clipped
term is the active one, i.e. its gradient is 0), ``ratio_mean``, ``approx_kl`` (k3 estimate of
KL(old || new): (ratio - 1) - log ratio) and ``adv_mean`` are token-means over masked tokens;
``num_tokens`` is the masked-token count.

Not done here: computing log-probs (``policy/``), advantages (``advantages/``), entropy bonus.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor

Aggregation = Literal["token-mean", "seq-mean"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)


def _masked_mean(x: Tensor, mask: Tensor, aggregation: str) -> Tensor:
    """Aggregate ``x [N, T]`` over tokens where ``mask [N, T]`` is True; 0 when none are."""
    x = torch.where(mask, x, torch.zeros_like(x))  # [N, T]
    if aggregation == "token-mean":
        return x.sum() / mask.sum().clamp_min(1)
    per_row_count = mask.sum(dim=-1)  # [N]
    per_row = x.sum(dim=-1) / per_row_count.clamp_min(1)  # [N]; rows without tokens give 0
    return per_row.sum() / (per_row_count > 0).sum().clamp_min(1)


def _check_inputs(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    action_mask: Tensor,
    ref_logprobs: Tensor | None,
) -> None:
    if logprobs.ndim != 2:
        raise ValueError(f"logprobs must be [N, T], got shape {tuple(logprobs.shape)}")
    shape = tuple(logprobs.shape)
    named = {"old_logprobs": old_logprobs, "action_mask": action_mask, "ref_logprobs": ref_logprobs}
    for name, t in named.items():
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{name} must have logprobs' shape {shape}, got {tuple(t.shape)}")
    if tuple(advantages.shape) not in (shape[:1], shape):
        raise ValueError(
            f"advantages must be [N] = {list(shape[:1])} or [N, T] = {list(shape)}, "
            f"got {tuple(advantages.shape)}"
        )


def _check_options(
    clip_eps: float, clip_eps_high: float, kl_beta: float, aggregation: str, has_ref: bool
) -> None:
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    if not 0 < clip_eps < 1:
        raise ValueError(f"clip_eps must be in (0, 1), got {clip_eps!r}")
    if not clip_eps_high > 0:
        raise ValueError(f"clip_eps_high must be > 0 (or None for clip_eps), got {clip_eps_high!r}")
    if not kl_beta >= 0:
        raise ValueError(f"kl_beta must be >= 0, got {kl_beta!r}")
    if kl_beta > 0 and not has_ref:
        raise ValueError("kl_beta > 0 needs ref_logprobs (the reference policy's log-probs)")


def _masked_inputs(
    logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """(logp, old, adv), each [N, T] and 0 where ``mask`` [N, T] is False (garbage removed
    before any arithmetic); ``old`` and ``adv`` detached, a row advantage [N] broadcast."""
    zero = torch.zeros_like(logprobs)  # [N, T]
    logp = torch.where(mask, logprobs, zero)  # [N, T]
    old = torch.where(mask, old_logprobs.detach().to(logp.dtype), zero)  # [N, T]
    adv = advantages.detach().to(logp.dtype)
    adv = torch.where(mask, adv.unsqueeze(-1) if adv.ndim == 1 else adv, zero)  # [N, T]
    return logp, old, adv


def _k3_kl(logp: Tensor, ref_logprobs: Tensor, mask: Tensor, aggregation: str) -> Tensor:
    """Aggregated k3 KL exp(ref - logp) - (ref - logp) - 1; logp, ref_logprobs, mask: [N, T]."""
    ref = torch.where(mask, ref_logprobs.detach().to(logp.dtype), torch.zeros_like(logp))
    d = ref - logp  # [N, T]
    return _masked_mean(torch.exp(d) - d - 1, mask, aggregation)


@torch.no_grad()
def _token_stats(
    pg_unclipped: Tensor,
    pg_clipped: Tensor,
    ratio: Tensor,
    log_ratio: Tensor,
    adv: Tensor,
    mask: Tensor,
) -> dict[str, Tensor]:
    """Detached token-mean diagnostics over masked tokens; every input is [N, T]."""
    return {
        "clip_frac": _masked_mean((pg_clipped > pg_unclipped).to(adv.dtype), mask, "token-mean"),
        "ratio_mean": _masked_mean(ratio, mask, "token-mean"),
        "approx_kl": _masked_mean((ratio - 1) - log_ratio, mask, "token-mean"),
        "num_tokens": mask.sum().to(adv.dtype),
        "adv_mean": _masked_mean(adv, mask, "token-mean"),
    }


def policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    action_mask: Tensor,
    clip_eps: float = 0.2,
    clip_eps_high: float | None = None,
    kl_beta: float = 0.0,
    ref_logprobs: Tensor | None = None,
    aggregation: str = "token-mean",
) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped surrogate policy loss (see the module docstring).

    Args:
        logprobs: [N, T] log-probs of the sampled tokens under the current policy (with grad).
        old_logprobs: [N, T] log-probs under the sampling policy.
        advantages: [N] per-row or [N, T] per-token advantages.
        action_mask: [N, T] 1 on sampled tokens.
        clip_eps: lower clip range (ratio >= 1 - clip_eps).
        clip_eps_high: upper clip range (ratio <= 1 + clip_eps_high); None = clip_eps.
        kl_beta: weight of the k3 KL penalty to the reference policy.
        ref_logprobs: [N, T] reference log-probs; required when kl_beta > 0.
        aggregation: ``"token-mean"`` or ``"seq-mean"``.

    Returns:
        The scalar loss and a dict of detached scalar stats.
    """
    _check_inputs(logprobs, old_logprobs, advantages, action_mask, ref_logprobs)
    eps_high = clip_eps if clip_eps_high is None else clip_eps_high
    _check_options(clip_eps, eps_high, kl_beta, aggregation, ref_logprobs is not None)

    mask = action_mask != 0  # [N, T]
    logp, old, adv = _masked_inputs(logprobs, old_logprobs, advantages, mask)  # [N, T] each

    log_ratio = logp - old  # [N, T]
    ratio = torch.exp(log_ratio)  # [N, T]
    pg_unclipped = -adv * ratio  # [N, T]
    pg_clipped = -adv * ratio.clamp(1 - clip_eps, 1 + eps_high)  # [N, T]
    pg = torch.maximum(pg_unclipped, pg_clipped)  # [N, T]
    pg_loss = _masked_mean(pg, mask, aggregation)
    loss = pg_loss

    stats: dict[str, Tensor] = {"pg_loss": pg_loss.detach()}
    if ref_logprobs is not None:
        kl = _k3_kl(logp, ref_logprobs, mask, aggregation)
        stats["kl"] = kl.detach()
        if kl_beta > 0:
            loss = loss + kl_beta * kl
    stats.update(_token_stats(pg_unclipped, pg_clipped, ratio, log_ratio, adv, mask))
    return loss, stats
