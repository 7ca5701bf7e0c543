"""One policy update on a rollout batch: ``ppo_epochs`` passes of the clipped token-level policy
gradient (``losses.policy_loss``), micro-batched, under Lightning's manual optimisation.

Contract of ``policy_update(module, batch, a, args, ref_policy)``:

- ``old`` log-probs (the sampling policy) are computed once, without grad, when ``ppo_epochs``
  > 1; with one pass the ratio is exactly 1 (``old = logp.detach()``).
- ``ref`` log-probs (k3 KL, only when ``kl_beta > 0``): ``ref_policy`` when given (full
  fine-tuning keeps a frozen copy), else the same PEFT model with its adapter disabled.
- Micro-batches: each one's loss is scaled by its share of the batch (masked tokens for
  token-mean; rows with at least one sampled token for seq-mean, the rows seq-mean averages
  over), so the accumulated gradient equals the whole-batch gradient for any
  ``micro_batch_size``.
- Per pass: backward over every micro-batch, optional norm clipping, one optimizer step. The LR
  scheduler (if any) steps once per call. Note that every optimizer step is one Lightning
  ``global_step``: with ``ppo_epochs`` = E a rollout batch advances ``global_step`` by E.

Returns the loss statistics averaged over the passes (weighted by share within a pass).

``check_optimizer(factory)`` builds a throwaway optimizer over one dummy parameter, so a bad
``optimizer.init_args`` (a learning rate <= 0, a negative weight decay) fails when the module is
constructed, not in ``configure_optimizers`` after the policy was loaded (or warm-started).

Not done here: rollouts, advantages (``methods/``), the loss itself (``losses.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from lightning import LightningModule

from lightning_paretopo.args import LossArgs
from lightning_paretopo.losses import policy_loss
from lightning_paretopo.policy.logprobs import token_logprobs
from lightning_paretopo.types import RolloutBatch

log = logging.getLogger(__name__)


def _check_lr(lr: Any) -> None:
    if lr is not None and not float(lr) > 0:
        raise ValueError(
            f"optimizer.init_args.lr must be > 0 (the step size; <= 0 leaves the policy unchanged "
            f"or trains it backwards), got {float(lr)}"
        )


def check_optimizer(factory: Callable[[Any], torch.optim.Optimizer]) -> None:
    """Raise ValueError naming ``optimizer.init_args`` when ``factory`` gives a learning rate
    <= 0 or rejects its settings, by building it over one dummy parameter."""
    _check_lr((getattr(factory, "keywords", None) or {}).get("lr"))  # a LightningCLI partial
    try:
        opt = factory([torch.nn.Parameter(torch.zeros(1))])
    except ValueError as err:  # torch's own checks: "Invalid weight_decay value: -1", ...
        raise ValueError(f"optimizer.init_args: {err}; fix the optimizer's settings") from err
    except Exception:  # e.g. a GPU-only optimizer: torch checks it when it is built
        log.debug("optimizer not checked at construction: it needs real parameters")
        return
    _check_lr(opt.param_groups[0].get("lr"))


def micro_batches(N: int, size: int | None) -> list[slice]:
    """Row slices of at most ``size`` rows covering ``range(N)`` (one slice when size is None)."""
    size = size or N
    return [slice(i, min(i + size, N)) for i in range(0, N, size)]


@torch.no_grad()
def batch_logprobs(
    model: torch.nn.Module, batch: RolloutBatch, slices: list[slice]
) -> torch.Tensor:
    """[N, T] token log-probs of the whole batch under ``model``, without grad."""
    out = [token_logprobs(model, batch.input_ids[s], batch.attention_mask[s]) for s in slices]
    return torch.cat(out)  # [N, T]


def micro_batch_shares(mask: torch.Tensor, slices: list[slice], aggregation: str) -> list[float]:
    """Each micro-batch's share of the aggregated loss (module docstring); mask [N, T]."""
    if aggregation == "token-mean":
        counts = mask.sum(dim=1)  # [N]
    else:
        counts = (mask.sum(dim=1) > 0).to(mask.dtype)  # [N]
    total = counts.sum().clamp_min(1)
    return [float(counts[s].sum() / total) for s in slices]


def _reference(module: LightningModule, batch: RolloutBatch, slices: list[slice], ref: Any):
    if ref is not None:
        return batch_logprobs(ref, batch, slices)
    with module.policy.disable_adapter():
        return batch_logprobs(module.policy, batch, slices)


def policy_update(
    module: LightningModule,
    batch: RolloutBatch,
    a: torch.Tensor,
    args: LossArgs,
    ref_policy: torch.nn.Module | None = None,
) -> dict[str, float]:
    """Run ``args.ppo_epochs`` optimizer steps of ``module.policy`` on ``batch``.

    Args:
        module: the LightningModule (manual optimisation) whose ``policy`` is trained.
        batch: the rollout batch (N rows).
        a: [N, T] token advantages.
        args: the loss settings.
        ref_policy: frozen reference policy for the KL penalty; None uses the disabled adapter.

    Returns:
        The loss statistics (``losses.policy_loss``) averaged over the passes.
    """
    opt = module.optimizers()
    policy = module.policy
    mask = batch.action_mask.float()  # [N, T]
    slices = micro_batches(len(batch), args.micro_batch_size)
    shares = micro_batch_shares(mask, slices, args.aggregation)
    old = batch_logprobs(policy, batch, slices) if args.ppo_epochs > 1 else None  # [N, T]
    ref = _reference(module, batch, slices, ref_policy) if args.kl_beta > 0 else None  # [N, T]
    sums: dict[str, float] = {}
    for _ in range(args.ppo_epochs):
        for s, share in zip(slices, shares, strict=True):
            logp = token_logprobs(policy, batch.input_ids[s], batch.attention_mask[s])  # [n, T]
            loss, stats = policy_loss(
                logp,
                logp.detach() if old is None else old[s],
                a[s],
                mask[s],
                args.clip_eps,
                args.clip_eps_high,
                args.kl_beta,
                None if ref is None else ref[s],
                args.aggregation,
            )
            module.manual_backward(loss * share)
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + float(value) * share
        if args.max_grad_norm is not None:
            module.clip_gradients(opt, args.max_grad_norm, "norm")
        opt.step()
        opt.zero_grad(set_to_none=True)
    scheduler = module.lr_schedulers()
    if scheduler is not None:
        scheduler.step()
    return {k: v / args.ppo_epochs for k, v in sums.items()}
