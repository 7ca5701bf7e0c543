"""The reward-head contract: one objective of ALGORITHM.md, as a plain documented callable.

Contract:
    A ``RewardHead`` has ``name`` (the objective's key, e.g. ``train/reward/<name>``), bounds
    ``lo < hi`` for normalisation (r~ = clip((r - lo) / (hi - lo), 0, 1)), and an
    ``attribution`` in ``("all", "tool_turns")`` that says which sampled tokens stage 2's
    action-level credit may charge for this objective (``advantages.attribution_masks``), and
    ``gated``: whether stage 2's gated dominance (ALGORITHM.md S5) multiplies it by the
    trajectory's accuracy before comparing (True for what a trajectory spends: tool efficiency,
    brevity; False for accuracy and format; a user's head chooses, default False).

    ``head(batch, tasks)`` returns the raw values ``[N]`` as float64 on the device of
    ``batch.action_mask``, NaN where the objective does not apply to the row's task. ``tasks``
    holds one entry per ROW: the caller repeats each task ``group_size`` times, in order. A head
    must give NaN to all rows of a group or to none (they share a task); ``RewardHeads`` checks it.

    Subclasses implement ``compute`` only; ``__call__`` checks the inputs and the output shape.
    They are built from config with ``class_path``/``init_args`` (LightningCLI, jsonargparse), so
    every constructor argument is a plain typed value (no callables, no mutable defaults).

    A head that needs another objective's verdict (``RelativeToolEfficiency`` needs accuracy)
    sets ``reads`` to that objective's name and implements ``compute_given(batch, tasks,
    given)`` instead, ``given`` being the read head's raw values [N]; ``RewardHeads`` computes
    the read head first and passes them, so correctness has one definition (``is_correct``: raw
    accuracy > 0.5). A head with state across calls (the running n* of S8) updates it only in
    ``observe`` (called on training batches) and keeps it in ``state_dict`` (checkpointed by
    the module); the defaults are stateless.

Deliberately not done: no head sees the tokenizer (heads read ``batch.texts`` and the count
tensors only).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from lightning_paretopo.advantages import ATTRIBUTIONS
from lightning_paretopo.types import RolloutBatch, TaskExample

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

CORRECT_ABOVE = 0.5
"""A row is correct when its raw accuracy is above this (1/0 accuracy; F1 > 0.5)."""


def is_correct(accuracy: Tensor) -> Tensor:
    """[N] bool: the rows whose raw accuracy [N] counts as a right answer (NaN: False)."""
    return accuracy > CORRECT_ABOVE


class RewardHead(ABC):
    """One objective: raw reward ``[N]`` per row, NaN where it does not apply.

    Attributes:
        name: the objective's key (letters, digits, ``_ . -``), unique within a ``RewardHeads``.
        lo: lower bound of the raw value, used for normalisation.
        hi: upper bound of the raw value (> lo).
        attribution: ``"all"`` (every sampled token) or ``"tool_turns"`` (the tokens of turns
            that issued a tool call).
        gated: under ``method.stage2.dominance: gated``, compare r~_acc * r~ for this objective
            (it measures what a trajectory spends, worth nothing when the answer is wrong).
    """

    def __init__(
        self,
        name: str,
        lo: float = 0.0,
        hi: float = 1.0,
        attribution: str = "all",
        gated: bool = False,
    ):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"name must be a non-empty string of letters, digits, '_', '.' or '-' "
                f"(it becomes a metric key), got {name!r}"
            )
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"head {name!r}: bounds need finite lo < hi, got lo={lo}, hi={hi}")
        if attribution not in ATTRIBUTIONS:
            raise ValueError(
                f"head {name!r}: attribution must be one of {ATTRIBUTIONS}, got {attribution!r}"
            )
        self.name = name
        self.lo = lo
        self.hi = hi
        self.attribution = attribution
        self.gated = bool(gated)

    @abstractmethod
    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> Tensor | list[float]:
        """Raw values, one per row (``len(tasks) == len(batch)`` is already checked).

        Returns:
            [N] values (a tensor or a list of floats); NaN where the objective does not apply.
        """

    reads: str | None = None
    """The name of another objective whose raw values ``compute_given`` needs; None = none."""

    def compute_given(
        self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor
    ) -> Tensor | list[float]:
        """``compute`` for a head with ``reads`` set: ``given`` [N] are the read head's values."""
        raise NotImplementedError(f"{type(self).__name__} sets reads but not compute_given")

    def observe(self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor) -> None:
        """Update state from a training batch before scoring it (default: no state)."""
        return None

    def state_dict(self) -> dict:
        """State to checkpoint (plain Python); {} for a stateless head."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict``'s output (default: nothing to restore)."""
        return None

    def __call__(
        self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor | None = None
    ) -> Tensor:
        """Raw values ``[N]`` (float64, on ``batch.action_mask``'s device), NaN = not applicable.

        Args:
            batch: the rollout batch of N rows.
            tasks: one task per row (each task repeated ``batch.group_size`` times).
            given: [N] raw values of the objective named by ``reads`` (heads that read one).
        """
        check_tasks(batch, tasks)
        device = batch.action_mask.device
        if self.reads is not None:
            if given is None:
                raise ValueError(
                    f"head {self.name!r} reads objective {self.reads!r}: score it inside a "
                    f"RewardHeads that also holds {self.reads!r}"
                )
            raw = self.compute_given(batch, tasks, given)
        else:
            raw = self.compute(batch, tasks)
        values = torch.as_tensor(raw, dtype=torch.float64, device=device)
        if values.shape != (len(batch),):
            raise ValueError(
                f"head {self.name!r} returned shape {tuple(values.shape)}; compute must return "
                f"one value per row, shape [N] = [{len(batch)}]"
            )
        return values  # [N]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, lo={self.lo}, hi={self.hi}, "
            f"attribution={self.attribution!r}, gated={self.gated})"
        )


def check_tasks(batch: RolloutBatch, tasks: Sequence[TaskExample]) -> None:
    """Raise ValueError unless ``tasks`` has exactly one entry per row of ``batch``."""
    if len(tasks) != len(batch):
        raise ValueError(
            f"tasks has {len(tasks)} entries but the batch has {len(batch)} rows: pass one task "
            f"per row, each task repeated group_size={batch.group_size} times in order"
        )


__all__ = ["RewardHead", "check_tasks"]
