"""Checkpoints of ``ParetoPOModule``: what a resume needs besides the weights.

Contract. ``CheckpointHooks`` is mixed into ``ParetoPOModule`` (and only there). Every checkpoint
holds, under ``"paretopo"``, the run's state (``run.state_dict()``: stage, switch step, w*, the
stage-1 state, the training and validation records), the reward heads' state (S8's running
n*), the training RNG (every rank's under DDP, gathered into [world, S]) and the zero-advantage
watch, as plain types (``torch.load(weights_only=True)``), so ``--ckpt_path`` resumes exactly.
With ``policy.lora`` the ``state_dict`` holds the trainable (adapter) weights only and the base
is reloaded from ``policy.name_or_path`` (``adapter_checkpoint``); ``load_state_dict`` takes
such a state (every trainable weight must be in it).

Deliberately not done: no optimizer-state surgery (Lightning saves and restores it).
"""

from __future__ import annotations

from typing import Any

import torch

from lightning_paretopo.adapter_checkpoint import (
    adapter_state_dict,
    check_adapter_state,
    trainable_keys,
)


class CheckpointHooks:
    """The checkpoint hooks of ``ParetoPOModule`` (module docstring)."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["paretopo"] = self.run.state_dict() | {
            "reward_heads": self.objectives.state_dict(),  # S8's running n*
            "generator": self._rng_states(),
            "zero_advantage_watch": self.zero_advantage_watch.state_dict(),
        }
        if self._adapters_only() and "state_dict" in checkpoint:  # LoRA: the adapters only;
            keys = trainable_keys(self)  # the base is reloaded from its source
            checkpoint["state_dict"] = adapter_state_dict(checkpoint["state_dict"], keys)

    def _adapters_only(self) -> bool:
        """True when checkpoints hold the trainable (LoRA) weights only."""
        return self.policy_args.lora is not None and self.policy is not None

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """``nn.Module.load_state_dict``, which also takes a LoRA run's adapter-only state:
        every trainable weight must be in it, and the frozen base stays as loaded from its
        source (``adapter_checkpoint.check_adapter_state``)."""
        if strict and self._adapters_only():
            own = set(self.state_dict())
            if not set(state_dict) >= own:  # adapter-only (a full state loads strictly)
                check_adapter_state(state_dict, trainable_keys(self), own)
                return super().load_state_dict(state_dict, strict=False, assign=assign)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _rng_states(self) -> tuple[str, torch.Tensor] | None:
        """The training RNG state; under DDP every rank's, gathered into [world, S]."""
        state = self._rng.state_dict()
        if state is None or self._trainer is None or self.trainer.world_size == 1:
            return state
        gathered = self.all_gather(state[1].to(self.device))  # [world, S]
        return (state[0], gathered.cpu())

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["paretopo"]
        self.run.load_state_dict(state, legacy_callbacks=checkpoint.get("callbacks", {}).values())
        self.objectives.load_state_dict(state.get("reward_heads", {}))
        if "zero_advantage_watch" in state:  # checkpoints before issue 14 lack it
            self.zero_advantage_watch.load_state_dict(state["zero_advantage_watch"])
        world = self.trainer.world_size if self._trainer is not None else 1
        self._rng.load_state_dict(state["generator"], self.global_rank, world)
