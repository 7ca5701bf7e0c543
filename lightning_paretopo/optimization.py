"""One policy update on a rollout batch: ``ppo_epochs`` passes of the clipped token-level policy
gradient (``losses.policy_loss``), micro-batched, under Lightning's manual optimisation.

Contract of ``policy_update(policy, batch, a, args, step, ref_policy)``: ``step`` (an
``UpdateStep``) holds what the update needs from the trainer (the optimizer, a backward, a
gradient-norm clip, the no-sync context of DDP, the LR scheduler); ``UpdateStep.of(module)``
takes them from a LightningModule under manual optimisation. The module is not passed.

- ``old`` log-probs (the sampling policy) are computed once, without grad, when ``ppo_epochs``
  > 1; with one pass the ratio is exactly 1 (``old = logp.detach()``).
- ``ref`` log-probs (k3 KL, only when ``kl_beta > 0``): ``ref_policy`` when given (full
  fine-tuning keeps a frozen copy), else the same PEFT model with its adapter disabled.
- Log-probs come from each micro-batch's first sampled column on (``MicroBatch.first``, passed
  to ``token_logprobs``): no logits over the vocabulary for the prompt's positions.
- Micro-batches (``micro_batching.py``): rows grouped by length (``max_padding``, at most
  ``micro_batch_size`` rows each), each fed only up to its longest row; each one's loss is
  scaled by its share of the batch (masked tokens for token-mean; rows with at least one
  sampled token for seq-mean, the rows seq-mean averages over), so the loss and the
  accumulated gradient equal the whole batch's, up to float rounding, for any grouping.
- Per pass: backward over every micro-batch (under DDP only the last one all-reduces the
  accumulated gradient), optional norm clipping, one optimizer step. The LR
  scheduler (if any) steps once per call. Note that every optimizer step is one Lightning
  ``global_step``: with ``ppo_epochs`` = E a rollout batch advances ``global_step`` by E.

Returns the loss statistics of the whole batch averaged over the passes: within a pass the
micro-batches' ``pg_loss`` and ``kl`` add up by their share of the loss, token-means by their
share of the tokens, and ``num_tokens`` is summed.

``check_optimizer(factory)`` builds a throwaway optimizer over one dummy parameter, so a bad
``optimizer.init_args`` (a learning rate <= 0, a negative weight decay) fails when the module is
constructed, not in ``configure_optimizers`` after the policy was loaded (or warm-started).

Not done here: rollouts, advantages (``methods/``), the loss itself (``losses.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from lightning import LightningModule

from lightning_paretopo.args import LossArgs
from lightning_paretopo.losses import policy_loss
from lightning_paretopo.micro_batching import MicroBatch, micro_batches, shares
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


@torch.no_grad()
def batch_logprobs(
    model: torch.nn.Module, batch: RolloutBatch, micro: list[MicroBatch]
) -> torch.Tensor:
    """[N, T] token log-probs of the whole batch under ``model``, without grad (0 on the
    columns past each micro-batch's width, which are padding)."""
    out = torch.zeros(batch.input_ids.shape, device=batch.input_ids.device)  # [N, T]
    for m in micro:
        out[m.rows.to(out.device), : m.width] = _logprobs(model, batch, m)  # [n, w]
    return out


def _logprobs(model: torch.nn.Module, batch: RolloutBatch, m: MicroBatch) -> torch.Tensor:
    """[n, w] token log-probs of micro-batch ``m`` from column ``m.first`` on (0 before)."""
    return token_logprobs(model, m.take(batch.input_ids), m.take(batch.attention_mask), m.first)


def _reference(policy: torch.nn.Module, batch: RolloutBatch, micro: list[MicroBatch], ref: Any):
    if ref is not None:
        return batch_logprobs(ref, batch, micro)
    with policy.disable_adapter():
        return batch_logprobs(policy, batch, micro)


#: How each loss statistic of a micro-batch adds up to the batch's: None = by its share of the
#: loss (the aggregated terms), 1.0 = summed (counts); the others are token-means (token share).
_STAT_SCALE: dict[str, float | None] = {"pg_loss": None, "kl": None, "num_tokens": 1.0}


@dataclass
class UpdateStep:
    """What a policy update drives: ``optimizer`` (``step``, ``zero_grad``), ``backward(loss)``,
    ``clip(max_norm)`` (the gradient-norm clip), ``no_sync(last)`` (a context in which a
    micro-batch's backward does not all-reduce; a no-op but for DDP) and ``scheduler`` (None:
    none)."""

    optimizer: Any
    backward: Callable[[torch.Tensor], None]
    clip: Callable[[float], None]
    no_sync: Callable[[bool], AbstractContextManager] = lambda last: nullcontext()
    scheduler: Any = None

    @classmethod
    def of(cls, module: LightningModule) -> UpdateStep:
        """The step of a LightningModule under manual optimisation."""
        opt = module.optimizers()
        return cls(
            optimizer=opt,
            backward=module.manual_backward,
            clip=lambda max_norm: module.clip_gradients(opt, max_norm, "norm"),
            no_sync=lambda last: _local_backward(module.trainer.strategy, last),
            scheduler=module.lr_schedulers(),
        )


def policy_update(
    policy: torch.nn.Module,
    batch: RolloutBatch,
    a: torch.Tensor,
    args: LossArgs,
    step: UpdateStep,
    ref_policy: torch.nn.Module | None = None,
) -> dict[str, float]:
    """Run ``args.ppo_epochs`` optimizer steps of ``policy`` on ``batch``.

    Args:
        policy: the model being trained (a PEFT model when LoRA is on).
        batch: the rollout batch (N rows).
        a: [N, T] token advantages.
        args: the loss settings.
        step: the optimizer, backward, clip, no-sync context and scheduler (``UpdateStep``).
        ref_policy: frozen reference policy for the KL penalty; None uses the disabled adapter.

    Returns:
        The loss statistics (``losses.policy_loss``) averaged over the passes.
    """
    mask = batch.action_mask.float()  # [N, T]
    lengths = batch.attention_mask.sum(dim=1)  # [N]
    sampled = batch.action_mask.bool()  # [N, T]
    starts = torch.where(sampled.any(dim=1), sampled.int().argmax(dim=1), lengths)  # [N]
    micro = micro_batches(lengths, args.micro_batch_size, args.max_padding, starts)
    weights = shares(mask, micro, args.aggregation)
    token_weights = shares(mask, micro, "token-mean")
    old = batch_logprobs(policy, batch, micro) if args.ppo_epochs > 1 else None  # [N, T]
    ref = _reference(policy, batch, micro, ref_policy) if args.kl_beta > 0 else None  # [N, T]
    sums: dict[str, float] = {}
    for _ in range(args.ppo_epochs):
        for i, (m, share, token_share) in enumerate(
            zip(micro, weights, token_weights, strict=True)
        ):
            with step.no_sync(i == len(micro) - 1):
                loss, stats = _micro_loss(policy, batch, m, a, mask, old, ref, args)
                step.backward(loss * share)
            for key, value in stats.items():
                scale = _STAT_SCALE.get(key, token_share)
                sums[key] = sums.get(key, 0.0) + float(value) * (share if scale is None else scale)
        if args.max_grad_norm is not None:
            step.clip(args.max_grad_norm)
        step.optimizer.step()
        step.optimizer.zero_grad(set_to_none=True)
    if step.scheduler is not None:
        step.scheduler.step()
    return {k: v / args.ppo_epochs for k, v in sums.items()}


def _local_backward(strategy: Any, last: bool) -> AbstractContextManager:
    """Under DDP, no gradient all-reduce in the backward of a pass's micro-batches but the last
    (they accumulate locally; the last one's all-reduce carries the sum); else a no-op."""
    if last or not hasattr(strategy, "block_backward_sync"):
        return nullcontext()
    return strategy.block_backward_sync()


def _micro_loss(
    policy: torch.nn.Module,
    batch: RolloutBatch,
    m: MicroBatch,
    a: torch.Tensor,
    mask: torch.Tensor,
    old: torch.Tensor | None,
    ref: torch.Tensor | None,
    args: LossArgs,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``policy_loss`` of one micro-batch (its rows, up to its width), with grad."""
    logp = _logprobs(policy, batch, m)  # [n, w]
    return policy_loss(
        logp,  # [n, w]
        logp.detach() if old is None else m.take(old),
        m.take(a) if a.ndim == 2 else a[m.rows.to(a.device)],
        m.take(mask),
        args.clip_eps,
        args.clip_eps_high,
        args.kl_beta,
        None if ref is None else m.take(ref),
        args.aggregation,
    )
