"""The random streams of the module's rollouts, kept apart so that resuming is exact.

- Training: one ``torch.Generator`` per rank on the policy's device, seeded ``seed + rank`` and
  saved in every checkpoint (``state_dict``), so a resumed run draws the samples the
  uninterrupted run would have drawn. Under DDP the module gathers every rank's state into one
  ``[world, S]`` tensor (the checkpoint is written by rank 0 only) and ``load_state_dict``
  picks the row of its rank. A state saved on another device type or world size is not
  restored (the stream is re-seeded, with a warning).
- Evaluation (validation, test, ``RunSummary``): a fresh generator per evaluation, seeded from
  (seed, rank, global step). Evaluation therefore never advances the training stream: an
  evaluation a resumed run does not repeat (the warm-start evaluation, a validation Lightning
  skips after a restart) cannot change later training samples, and a sampled evaluation at a
  given step gives the same result in every run.

Not done here: when to draw (greedy decoding draws nothing; the engine decides).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

_EVAL_STRIDE = 1_000_003  # a prime: evaluation seeds of nearby steps and ranks do not collide


class RolloutRNG:
    """The training generator (checkpointed) and per-evaluation generators.

    Args:
        seed: the run's rollout seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._train: torch.Generator | None = None
        self._pending: tuple[str, torch.Tensor] | None = None  # restored, not yet placed

    def train(self, device: torch.device, rank: int) -> torch.Generator:
        """The training stream on ``device``: seeded ``seed + rank``, or the restored state."""
        if self._train is None or self._train.device.type != device.type:
            self._train = torch.Generator(device=device)
            if self._pending is not None and self._pending[0] == device.type:
                self._train.set_state(self._pending[1])
            else:
                if self._pending is not None:
                    log.warning(
                        "rollout RNG saved on %s, running on %s: re-seeding the training "
                        "stream (the resumed samples will differ)",
                        self._pending[0],
                        device.type,
                    )
                self._train.manual_seed(self.seed + rank)
            self._pending = None
        return self._train

    def evaluation(self, device: torch.device, rank: int, step: int) -> torch.Generator:
        """A fresh generator for one evaluation at ``step`` on ``rank``."""
        generator = torch.Generator(device=device)
        seed = ((self.seed * _EVAL_STRIDE + step + 1) * _EVAL_STRIDE + rank) % 2**63
        return generator.manual_seed(seed)

    def state_dict(self) -> tuple[str, torch.Tensor] | None:
        """(device type, generator state) of the training stream, or None before any draw."""
        if self._train is None:
            return self._pending
        return (self._train.device.type, self._train.get_state())

    def load_state_dict(
        self, state: tuple[str, torch.Tensor] | None, rank: int = 0, world_size: int = 1
    ) -> None:
        """Restore a ``state_dict`` (applied when the stream is next used).

        ``state[1]`` is one rank's state ``[S]`` or every rank's ``[world, S]`` (module
        docstring); the latter must match ``world_size``.
        """
        self._train, self._pending = None, None
        if state is None:
            return
        device_type, tensor = state
        if tensor.dim() == 2:
            if tensor.shape[0] != world_size:
                log.warning(
                    "rollout RNG saved by %d ranks, resuming with %d: re-seeding the training "
                    "streams (the resumed samples will differ)",
                    tensor.shape[0],
                    world_size,
                )
                return
            tensor = tensor[rank]
        elif world_size > 1:
            log.warning("rollout RNG saved by 1 rank, resuming with %d: re-seeding", world_size)
            return
        # A copy with its own storage: Generator.set_state on a row view of a [world, S]
        # tensor (storage offset > 0) crashes the interpreter (torch 2.13, CPU).
        self._pending = (device_type, tensor.detach().cpu().clone())
