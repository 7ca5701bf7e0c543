"""One fixed directory per run, filled into every path a config leaves empty.

A run of experiment E (the config file's stem, e.g. ``quickstart``, or the CLI's
``--experiment``) with method M and seed S lives in ``logs/E/M-sS/`` (M with its static
weights, e.g. ``static_0.8_0.2``, or the CLI's ``--run_name``): ``config.yaml``, ``checkpoints/`` (``last.ckpt``, so ``--ckpt_path
last`` resumes), ``fronts.png``, ``summary.json``, the CSV log under ``csv/`` and the W&B run
under ``wandb/``. W&B runs are grouped by ``<experiment>/<method>`` (a method's seeds), so one
project compares fronts across runs (ids, resumes and tags: ``loggers.continuity``).

``fill_run_dir`` edits a parsed (not yet instantiated) LightningCLI config in place and only
fills values that are empty (None, or a logger's own default such as ``save_dir="."``), so anything a config or the command line sets wins. Because
the directory is computed after all sources are merged, a method or seed given on the command
line reaches it (unlike a ``${...}`` interpolation under parser_mode "omegaconf").

``checkpoint_dir`` reads back where the config's checkpoint callback writes (``--ckpt_path last``
resolves there). One run owns a directory at a time (``runlock.py``).

Deliberately not done: no timestamped or versioned directories (resume needs a fixed path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DIR_CALLBACKS = ("FrontLogger", "RunSummary")
CHECKPOINT_CALLBACKS = ("ModelCheckpoint", "LastCheckpoint")


def method_label(method: str, weights: list[float] | None) -> str:
    """The method's name, plus its static weights when given and the method's label carries
    them (``Method.label_weights``): ``static_0.8_0.2``."""
    from lightning_paretopo.methods import get_method  # late: it imports the advantages

    if not weights or not get_method(method).label_weights:
        return method
    return "_".join([method, *(f"{w:g}" for w in weights)])


def run_dir_for(experiment: str, label: str, seed: int | None, root: str = "logs") -> Path:
    """``logs/<experiment>/<label>-s<seed>``."""
    return Path(root) / experiment / f"{label}-s{0 if seed is None else seed}"


def config_get(node: Any, key: str) -> Any:
    try:
        return node[key]
    except (KeyError, TypeError):
        return getattr(node, key, None)


def _fill(init_args: Any, key: str, value: Any, defaults: tuple[Any, ...] = ()) -> None:
    """Set ``key`` unless the config chose a value (None or a class default counts as unset)."""
    if init_args is not None and config_get(init_args, key) in (None, *defaults):
        init_args[key] = value


def config_entries(node: Any) -> list[Any]:
    if node is None or isinstance(node, bool):
        return []
    return list(node) if isinstance(node, list) else [node]


def fill_run_dir(config: Any, experiment: str, label: str | None = None) -> Path | None:
    """Fill the run directory into ``config`` (a subcommand's Namespace); returns it.

    ``label`` (the CLI's ``--run_name``) replaces the method label in the directory, the W&B
    group and name: two configs of one method (e.g. an ablation) then get distinct directories.
    Returns None (and changes nothing) when the model is not a ``ParetoPOModule`` config, i.e.
    has no ``model.init_args.method``.
    """
    model_args = config_get(config_get(config, "model"), "init_args")
    method_args = config_get(model_args, "method")
    if config_get(method_args, "name") is None:
        return None
    method = run_label(config, label)
    seed = config_get(config, "seed_everything")
    seed = None if isinstance(seed, bool) else seed
    run_dir = run_dir_for(experiment, method, seed)
    trainer = config["trainer"]
    if trainer["default_root_dir"] is None:
        trainer["default_root_dir"] = str(run_dir)
    for logger in config_entries(trainer["logger"]):
        kind, init_args = str(config_get(logger, "class_path")), config_get(logger, "init_args")
        _fill(init_args, "save_dir", str(run_dir), defaults=(".",))
        if kind.endswith("WandbLogger"):
            _fill(init_args, "group", f"{experiment}/{method}")
            _fill(init_args, "name", f"{experiment}-{method}-s{seed}")
            _fill(init_args, "project", "lightning-paretopo")
        elif kind.endswith("CSVLogger"):
            _fill(init_args, "name", "csv", defaults=("lightning_logs",))
    for callback in config_entries(trainer["callbacks"]):
        kind, init_args = str(config_get(callback, "class_path")), config_get(callback, "init_args")
        if kind.rsplit(".", 1)[-1] in CHECKPOINT_CALLBACKS:
            _fill(init_args, "dirpath", str(run_dir / "checkpoints"))
        elif kind.rsplit(".", 1)[-1] in DIR_CALLBACKS:
            _fill(init_args, "dirpath", str(run_dir))
    return run_dir


def run_label(config: Any, label: str | None = None) -> str:
    """The run's method label: ``label`` (``--run_name``) if given, else ``method_label``."""
    method_args = config_get(config_get(config_get(config, "model"), "init_args"), "method")
    return label or method_label(
        config_get(method_args, "name"), config_get(method_args, "weights")
    )


def checkpoint_dir(config: Any) -> str | None:
    """The ``dirpath`` of the config's checkpoint callback (after ``fill_run_dir``), or None."""
    for callback in config_entries(config_get(config_get(config, "trainer"), "callbacks")):
        if str(config_get(callback, "class_path")).rsplit(".", 1)[-1] in CHECKPOINT_CALLBACKS:
            dirpath = config_get(config_get(callback, "init_args"), "dirpath")
            return None if dirpath is None else str(dirpath)
    return None
