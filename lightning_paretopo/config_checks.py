"""Cross-field checks of a parsed run config, before anything is built (no policy load, no
W&B run, no run directory).

Contract:
    ``check_fit_config(config)`` takes one ``fit`` command's resolved config as plain YAML
    types (``{"trainer": ..., "model": {"class_path", "init_args"}, ...}``, as the CLI dumps
    it), raises ValueError listing every error, each naming the field and the fix, and returns
    the warnings (texts) for the caller to log. It checks only what the field-by-field
    constructors cannot see, for a model with ``init_args.method`` (a ``ParetoPOModule``):

    Errors (each one would otherwise stop the run after the policy has loaded):
      - a ``StageSwitch`` in ``trainer.callbacks`` whose cap cannot be resolved against
        ``trainer.max_steps`` (``StageSwitch.resolve_max_stage1_steps``, the rule it applies
        in ``on_fit_start``): ``max_stage1_steps`` unset with ``max_steps`` unset or < 2, or
        ``min_stage1_steps > max_steps // 2`` (the default cap); and any argument the switch
        itself refuses. Only when the method switches (``Method.switches``) and without
        ``fixed_step``, as the switch itself.
    Warnings (legal, but probably not meant):
      - the switch cannot come before ``max_steps`` (earliest: ``fixed_step``, else the
        smaller of the cap and max(min_stage1_steps, patience)): stage 2 never trains;
      - an integer ``val_check_interval`` (counted in training batches) larger than the
        run's batches, ceil(max_steps / loss.ppo_epochs) (``max_steps`` counts optimizer
        steps): no validation and no mid-run ``last.ckpt`` before the end.

Deliberately not done: checks that need the data or the policy (the number of batches per
epoch, the prompt length against ``max_total_tokens``); per-field checks, which the
constructors (``args.py``, ``module_checks.py``, the callbacks) already make at construction.
"""

from __future__ import annotations

import math
from typing import Any

from lightning_paretopo.args import LossArgs, MethodArgs
from lightning_paretopo.callbacks.stage_switch import StageSwitch
from lightning_paretopo.methods import get_method


def _init_args(node: Any) -> dict[str, Any]:
    return dict((node or {}).get("init_args") or {}) if isinstance(node, dict) else {}


def _callbacks(trainer: dict[str, Any]) -> list[Any]:
    callbacks = trainer.get("callbacks") or []
    return callbacks if isinstance(callbacks, list) else [callbacks]


def _max_steps(trainer: dict[str, Any]) -> int | None:
    """``trainer.max_steps``, None when unset (Lightning's -1 or absent)."""
    steps = trainer.get("max_steps")
    return steps if isinstance(steps, int) and steps >= 0 else None


def switch_checks(
    where: str, init_args: dict[str, Any], max_steps: int | None
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of one ``StageSwitch``'s ``init_args`` against ``max_steps``."""
    try:
        switch = StageSwitch(**init_args)
        cap = None if switch.fixed_step is not None else switch.resolve_max_stage1_steps(max_steps)
    except (TypeError, ValueError) as error:
        return [f"{where}: {error} (trainer.max_steps is {max_steps})"], []
    if max_steps is None:
        return [], []
    if switch.fixed_step is not None:
        earliest, fields = switch.fixed_step, "fixed_step"
    else:
        earliest = min(cap, max(switch.min_stage1_steps, switch.patience))
        fields = "min_stage1_steps / patience / max_stage1_steps"
    if earliest < max_steps:
        return [], []
    return [], [
        f"{where}: the stage switch comes at global step {earliest} at the earliest, and "
        f"trainer.max_steps is {max_steps}: stage 2 never trains in this run. Lower {fields} "
        "or raise trainer.max_steps, if stage 2 is meant to run"
    ]


def validation_checks(trainer: dict[str, Any], model_args: dict[str, Any]) -> list[str]:
    """Warnings about ``val_check_interval`` against the run's training batches."""
    interval, max_steps = trainer.get("val_check_interval"), _max_steps(trainer)
    if not isinstance(interval, int) or isinstance(interval, bool) or max_steps is None:
        return []
    if trainer.get("check_val_every_n_epoch") is not None:
        return []  # counted within an epoch: the data decides
    ppo_epochs = (model_args.get("loss") or {}).get("ppo_epochs") or LossArgs().ppo_epochs
    batches = math.ceil(max_steps / ppo_epochs)
    if interval <= batches:
        return []
    return [
        f"trainer.val_check_interval ({interval} training batches) > the run's "
        f"{batches} training batches (trainer.max_steps {max_steps} / loss.ppo_epochs "
        f"{ppo_epochs}): no validation and no mid-run last.ckpt before the end. Lower "
        "trainer.val_check_interval"
    ]


def check_fit_config(config: dict[str, Any]) -> list[str]:
    """Raise ValueError listing every error of ``config`` (module docstring); the warnings."""
    trainer = config.get("trainer") or {}
    model_args = _init_args(config.get("model"))
    if "method" not in model_args:
        return []  # not a ParetoPOModule (e.g. a warm start)
    method = (model_args.get("method") or {}).get("name") or MethodArgs().name
    errors, warnings = [], validation_checks(trainer, model_args)
    if get_method(method).switches:
        for i, callback in enumerate(_callbacks(trainer)):
            if str((callback or {}).get("class_path", "")).rsplit(".", 1)[-1] != "StageSwitch":
                continue
            where = f"trainer.callbacks[{i}] (StageSwitch.init_args)"
            found = switch_checks(where, _init_args(callback), _max_steps(trainer))
            errors += found[0]
            warnings += found[1]
    if errors:
        raise ValueError("the config cannot run:\n  " + "\n  ".join(errors))
    return warnings
