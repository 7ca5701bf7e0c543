"""The ParetoPO stage switch (ALGORITHM.md, "The switch"), as a Lightning callback.

Contract. ``StageSwitch`` acts only when the module's method (``pl_module.method``, or
``pl_module.method_args.name``) switches (``Method.switches``: paretopo, paretopo_paper) and
the module is in stage 1 (``stage1_only`` never switches; ``stage2_only`` starts in stage 2,
which the module sets up itself). It keeps no state: it reads the module's one record of the
training HV, ``pl_module.train_history`` (``run_state.RunState``: ``{"step", "hv", ...}`` per
optimizer step, the HV after ``step`` steps; step 0 = the start of training). After every
training batch whose newest record is at ``s = trainer.global_step`` it switches, once, at the
first such s where one of these holds:

- fixed-step mode (``fixed_step`` set, the ablation "plateau vs fixed step"): s >= fixed_step;
  the plateau and max rules are then ignored;
- plateau: s >= min_stage1_steps, the HV of step s - patience is recorded, and
  ``(hv_s - hv_{s-patience}) / max(|hv_{s-patience}|, 1e-12) < min_delta``;
- cap: s >= max_stage1_steps (None: ``trainer.max_steps // 2``, resolved in ``on_fit_start``).

Switching calls ``pl_module.switch_to_stage2(s)`` (the module freezes w* and stores the stage
and the switch step), logs ``train/switch_step`` = s once, with this batch's metrics (at
Lightning's logging step, ``loggers.steps.log_step``: s - 1), to every logger of the trainer
(``logger.log_metrics``: a value given to ``pl_module.log`` in a batch hook would be re-logged
on every later step of the epoch), and an INFO line. Stage 2 therefore drives training step
s + 1 onwards (0-based: the batch whose ``global_step`` reads s in ``training_step``). A resumed
run switches at the same step as the uninterrupted one: the history is in the module's
checkpoint.

Not done here: freezing w* or changing the advantage (the module does), and the HV itself
(``pareto.HypervolumeWeights``). A run whose archive HV stays 0 (e.g. accuracy 0 on every
batch) reads as a plateau (0 / 1e-12 = 0): it switches at max(min_stage1_steps, patience);
raise ``min_stage1_steps`` to keep stage 1 going in that case.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from lightning_paretopo.loggers.steps import log_step
from lightning_paretopo.methods import get_method

log = logging.getLogger(__name__)

_HV_FLOOR = 1e-12


def _check_int(name: str, value: int | None, low: int, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}{' or None' * optional}; got {value!r}")


def relative_hv_gain(hv_now: float, hv_before: float) -> float:
    """(hv_now - hv_before) / max(|hv_before|, 1e-12): the plateau statistic."""
    return (hv_now - hv_before) / max(abs(hv_before), _HV_FLOOR)


def method_name(pl_module: pl.LightningModule) -> str:
    """The module's method: ``pl_module.method`` if it is a str, else ``method_args.name``."""
    name = getattr(pl_module, "method", None)
    if not isinstance(name, str):
        name = getattr(getattr(pl_module, "method_args", None), "name", None)
    if not isinstance(name, str):
        raise ValueError(
            f"StageSwitch needs the module's method name as `method` (a str) or "
            f"`method_args.name`; {type(pl_module).__name__} has neither"
        )
    return name


class StageSwitch(Callback):
    """Switch a ``paretopo`` module from stage 1 to stage 2 once (module docstring).

    Args:
        min_stage1_steps: no plateau switch before this global step.
        max_stage1_steps: switch at this global step at the latest; None for half of
            ``trainer.max_steps``.
        patience: the window, in steps, of the HV's relative gain (>= 1).
        min_delta: a relative HV gain below this over ``patience`` steps is a plateau (>= 0).
        fixed_step: switch exactly at this global step instead (plateau and cap ignored).
    """

    def __init__(
        self,
        min_stage1_steps: int = 0,
        max_stage1_steps: int | None = None,
        patience: int = 20,
        min_delta: float = 1e-3,
        fixed_step: int | None = None,
    ) -> None:
        _check_int("min_stage1_steps", min_stage1_steps, 0, optional=False)
        _check_int("max_stage1_steps", max_stage1_steps, 1)
        _check_int("patience", patience, 1, optional=False)
        _check_int("fixed_step", fixed_step, 1)
        if not (isinstance(min_delta, int | float) and min_delta >= 0):
            raise ValueError(f"min_delta must be a number >= 0; got {min_delta!r}")
        if max_stage1_steps is not None and min_stage1_steps > max_stage1_steps:
            raise ValueError(
                f"min_stage1_steps ({min_stage1_steps}) must be <= max_stage1_steps "
                f"({max_stage1_steps}); lower min_stage1_steps or raise max_stage1_steps"
            )
        self.min_stage1_steps = min_stage1_steps
        self.max_stage1_steps = max_stage1_steps
        self.patience = patience
        self.min_delta = float(min_delta)
        self.fixed_step = fixed_step
        self._max_steps: int | None = None  # resolved cap

    # ---- the rule -------------------------------------------------------------------------
    def resolve_max_stage1_steps(self, trainer_max_steps: int | None) -> int:
        """The cap: ``max_stage1_steps``, or ``trainer_max_steps // 2`` when it is None."""
        if self.max_stage1_steps is not None:
            return self.max_stage1_steps
        if trainer_max_steps is None or trainer_max_steps < 2:
            raise ValueError(
                "max_stage1_steps is None and trainer.max_steps is unset "
                f"({trainer_max_steps!r}): set max_stage1_steps, or Trainer(max_steps=...) >= 2"
            )
        cap = trainer_max_steps // 2
        if self.min_stage1_steps > cap:
            raise ValueError(
                f"min_stage1_steps ({self.min_stage1_steps}) must be <= max_stage1_steps "
                f"(default max_steps // 2 = {cap}); lower min_stage1_steps or set "
                "max_stage1_steps"
            )
        return cap

    def should_switch(self, step: int, hv_history: dict[int, float]) -> str | None:
        """The reason to switch at ``step`` given the training HV by step, or None to stay."""
        if self.fixed_step is not None:
            return "fixed_step" if step >= self.fixed_step else None
        if step >= self.min_stage1_steps:
            now, before = hv_history.get(step), hv_history.get(step - self.patience)
            known = now is not None and before is not None
            if known and relative_hv_gain(now, before) < self.min_delta:
                return "plateau"
        if self._max_steps is not None and step >= self._max_steps:
            return "max_stage1_steps"
        return None

    # ---- Lightning hooks -----------------------------------------------------------------
    @staticmethod
    def _active(pl_module: pl.LightningModule) -> bool:
        for attr in ("stage", "train_history", "switch_to_stage2"):
            if not hasattr(pl_module, attr):
                raise ValueError(
                    f"StageSwitch needs a module with `{attr}` (a ParetoPOModule); "
                    f"got {type(pl_module).__name__}"
                )
        return get_method(method_name(pl_module)).switches

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._active(pl_module) and self.fixed_step is None:
            self._max_steps = self.resolve_max_stage1_steps(trainer.max_steps)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not self._active(pl_module) or pl_module.stage != 1:
            return
        step = trainer.global_step
        hv_history = {int(r["step"]): float(r["hv"]) for r in pl_module.train_history}
        if step not in hv_history:
            return
        reason = self.should_switch(step, hv_history)
        if reason is None:
            return
        pl_module.switch_to_stage2(step)
        for logger in trainer.loggers:  # once; a pl_module.log value is re-logged every step
            logger.log_metrics({"train/switch_step": float(step)}, step=log_step(trainer))
        log.info(
            "ParetoPO stage switch at global step %d (%s); archive HV %.6g",
            step,
            reason,
            hv_history[step],
        )

    # ---- checkpointing: nothing of its own (the module's checkpoint holds the history) ----
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Accepts (and ignores) the state of checkpoints from before ``run_state.RunState``:
        the module rebuilds the history from it."""
