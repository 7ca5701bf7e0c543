"""Resuming from a checkpoint: which file ``--ckpt_path`` means, and whether the config drifted.

Contract:
    ``resolve_ckpt_path(value, checkpoint_dir)`` turns the CLI's ``--ckpt_path`` into a file:
    ``last`` is ``<checkpoint_dir>/last.ckpt`` (None when there is none yet: a first run), any
    other value must be an existing file (a ``FileNotFoundError`` naming it, before anything
    loads). ``"best"``/``"hpc"``/``"registry"`` are Lightning's and pass through unchecked.

    ``RunConfigRecord`` is a callback the CLI adds to every trainer: it stores the command's
    resolved ``model`` and ``data`` config (plain YAML types) in each checkpoint it saves, under
    ``"run_config"``. ``config_drift(saved, current)`` compares that record (read back by
    ``saved_config``) with the config of this command, on the fields that change what the run
    means (``MEANING``): the module and DataModule
    classes, the method and all its settings, the objectives and their settings (budgets), the
    group size, the chat/markup protocol, the tools and the LoRA settings (a LoRA checkpoint
    holds adapters of those settings only). It returns one line per changed field.
    The CLI refuses to resume when any is non-empty, unless ``--allow_config_drift true``.

Why the CLI does not let Lightning merge the checkpoint's hyperparameters into the config (its
``_parse_ckpt_path``): that silently replaces the config by the checkpoint's (so a changed
setting would be ignored without a word), and it fails outright in subclass mode ("Parsing of
ckpt_path hyperparameters failed"). Here the config is the source of truth and a changed
meaning is an error.

Deliberately not done: other settings (learning rate, max_steps, logging) may change on resume;
they are reported at INFO level, not refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

LIGHTNING_CKPT_ALIASES = ("best", "hpc", "registry")

#: dotted paths inside {"model": hparams, "data": hparams} that fix what a run means.
MEANING = (
    "model._class_path",
    "model.method",
    "model.objectives",
    "model.rollout.group_size",
    "model.rollout.protocol",
    "model.tool_specs",
    "model.policy.lora",  # a LoRA checkpoint holds adapters of these settings only
    "data._class_path",
    "data.tools",
)


def resolve_ckpt_path(value: str | None, checkpoint_dir: str | Path | None) -> Path | None:
    """The checkpoint file ``--ckpt_path value`` names; None for "nothing to resume"."""
    if value is None or value in LIGHTNING_CKPT_ALIASES:
        return None
    if value == "last":
        if checkpoint_dir is None:
            raise ValueError(
                "--ckpt_path last: the config has no checkpoint callback with a dirpath; add "
                "lightning_paretopo.callbacks.LastCheckpoint to trainer.callbacks"
            )
        last = Path(checkpoint_dir) / "last.ckpt"
        return last if last.is_file() else None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(
            f"--ckpt_path {value}: no such checkpoint file; pass an existing .ckpt, or 'last' "
            "for <run dir>/checkpoints/last.ckpt"
        )
    return path


class RunConfigRecord(Callback):
    """Writes the command's resolved config into every checkpoint (``checkpoint["run_config"]``).

    Args:
        run_config: ``{"model": ..., "data": ...}`` in ``as_hparams`` form, plain types only.
    """

    KEY = "run_config"

    def __init__(self, run_config: dict[str, dict[str, Any]]) -> None:
        self.run_config = run_config

    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        checkpoint[self.KEY] = self.run_config


def saved_config(path: Path) -> dict[str, dict[str, Any]]:
    """{"model": ..., "data": ...}: the config recorded in a checkpoint, {} sections if none
    (a checkpoint written outside the CLI). ``mmap=True`` maps the tensors instead of reading
    them: cheap even for a large policy."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    record = checkpoint.get(RunConfigRecord.KEY) or {}
    return {"model": dict(record.get("model") or {}), "data": dict(record.get("data") or {})}


def as_hparams(section: dict[str, Any] | None) -> dict[str, Any]:
    """A CLI config section ``{class_path, init_args}`` in the flat form Lightning stores."""
    section = dict(section or {})
    flat = {"_class_path": section.pop("class_path", None)}
    flat.update(section.pop("init_args", None) or {})
    flat.update(section.pop("dict_kwargs", None) or {})
    return flat | section


_MISSING = object()


def leaf_changes(saved: Any, current: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, checkpoint value, current value) of every differing leaf; dicts and
    lists are descended into (list items by index), anything else compared with ``==``."""
    if isinstance(saved, dict) and isinstance(current, dict):
        keys = [*saved, *(k for k in current if k not in saved)]
        pairs = [(f"{path}{k}", saved.get(k, _MISSING), current.get(k, _MISSING)) for k in keys]
    elif isinstance(saved, list) and isinstance(current, list) and len(saved) == len(current):
        pairs = [(f"{path}{i}", a, b) for i, (a, b) in enumerate(zip(saved, current, strict=True))]
    else:
        return [] if saved == current else [(path.rstrip("."), saved, current)]
    return [change for p, a, b in pairs for change in leaf_changes(a, b, f"{p}.")]


def _means(path: str) -> bool:
    return any(path == field or path.startswith(f"{field}.") for field in MEANING)


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else repr(value)


def config_drift(saved: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """``"model.rollout.group_size: 8 in the checkpoint, 4 now"`` for each changed leaf under
    a MEANING field. A section the checkpoint did not record (one written outside the CLI) is
    not compared."""
    drift = []
    for section, before in saved.items():
        if before:
            for path, a, b in leaf_changes(before, current.get(section, {}), f"{section}."):
                if _means(path):
                    drift.append(f"{path}: {_show(a)} in the checkpoint, {_show(b)} now")
    return drift


def other_changes(
    saved: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]
) -> list[str]:
    """Dotted paths of every other changed leaf (logged on resume, not refused)."""
    changed = []
    for section, before in saved.items():
        if before:
            for path, _, _ in leaf_changes(before, current.get(section, {}), f"{section}."):
                changed += [] if _means(path) else [path]
    return changed
