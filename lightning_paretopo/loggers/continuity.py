"""One run, one W&B run and one CSV history: what the CLI fills into the loggers' config.

``fill_loggers(config, run_dir, subcommand, resuming, ...)`` edits a parsed (not yet
instantiated) config in place, after ``rundir.fill_run_dir``, and only where the config left
a value empty:

- a new ``fit`` draws a W&B run id, which the CLI records in ``<run dir>/wandb_run.json`` with
  ``record_run_id`` once the classes are built (this module owns that file); a resumed ``fit`` reads it back and sets ``resume: allow``, so W&B continues
  the same run; ``validate`` / ``test`` get a run of their own (``job_type`` says which);
- ``RunCSVLogger`` gets ``resume: true`` on a resumed fit (it continues its latest version);
- W&B group ``<experiment>/<method>`` (the seeds of one method), tags ``method:<m>``,
  ``task:<t>``, ``seed:<s>``, ``experiment:<e>`` and the same under ``run/`` in the run's config,
  so a W&B project view groups and filters runs without hand work.

The CLI records the id on launch rank 0 only (other ranks do not log). A stock
``lightning.pytorch.loggers.WandbLogger`` gets the id too (it resumes on its own) but, having no
step rule, logs a resumed run's repeated steps twice: configs use ``RunWandbLogger``.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from pathlib import Path
from typing import Any

from lightning_paretopo.rundir import config_entries, config_get  # one reader of parsed configs

log = logging.getLogger(__name__)

RUN_FILE = "wandb_run.json"


def task_name(config: Any) -> str:
    """The task a config trains on: the DataModule's ``kind``, else its class name
    (``ArithDataModule`` -> ``arith``)."""
    data = config_get(config, "data")
    kind = config_get(config_get(data, "init_args"), "kind")
    if kind:
        return str(kind)
    cls = str(config_get(data, "class_path") or "data").rsplit(".", 1)[-1]
    return cls.removesuffix("DataModule").lower() or "data"


def read_run_id(run_dir: Path) -> str | None:
    """The W&B run id a fit in ``run_dir`` recorded, or None."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("id")


def new_run_id() -> str:
    """A fresh W&B run id: 8 lowercase letters and digits, as W&B draws them."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def record_run_id(run_dir: Path, run_id: str) -> None:
    """Record ``run_id`` as the W&B run of the fit in ``run_dir`` (atomically)."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(run_dir) / f".{RUN_FILE}.tmp"
    tmp.write_text(json.dumps({"id": run_id}) + "\n")
    tmp.replace(Path(run_dir) / RUN_FILE)


def fill_loggers(
    config: Any,
    run_dir: Path,
    subcommand: str,
    resuming: bool,
    experiment: str,
    method: str,
) -> str | None:
    """Fill the loggers of ``config`` (a subcommand's Namespace) for one run's continuity.

    Returns the W&B id a new fit drew (for ``record_run_id``), else None. Writes nothing.
    """
    seed = config_get(config, "seed_everything")
    seed = 0 if seed is None or isinstance(seed, bool) else seed
    task = task_name(config)
    labels = {"method": method, "task": task, "seed": seed, "experiment": experiment}
    drawn = None
    for logger in config_entries(config_get(config_get(config, "trainer"), "logger")):
        kind, args = str(config_get(logger, "class_path")), config_get(logger, "init_args")
        if args is None:
            continue
        if kind.endswith("WandbLogger"):
            drawn = _fill_wandb(args, kind, run_dir, subcommand, resuming) or drawn
            if kind.endswith("RunWandbLogger"):
                _set_if_empty(args, "group", f"{experiment}/{method}")
                _set_if_empty(args, "tags", [f"{k}:{v}" for k, v in labels.items()])
                _set_if_empty(args, "job_type", subcommand)
                _set_if_empty(args, "config", {f"run/{k}": v for k, v in labels.items()})
        elif kind.endswith("RunCSVLogger") and subcommand == "fit" and resuming:
            args["resume"] = True
    return drawn


def _set_if_empty(args: Any, key: str, value: Any) -> None:
    if config_get(args, key) in (None, [], {}):
        args[key] = value


def _fill_wandb(args: Any, kind: str, run_dir: Path, subcommand: str, resuming: bool) -> str | None:
    """Set the fit's W&B id (and ``resume``); returns a newly drawn id, else None."""
    if subcommand != "fit" or config_get(args, "id"):
        return None  # validate/test: a W&B run of their own; an explicit id: the user's choice
    run_id = read_run_id(run_dir) if resuming else None
    if run_id is not None:
        args["id"] = run_id
        if kind.endswith("RunWandbLogger"):
            args["resume"] = "allow"
        return None
    if resuming:
        log.warning("resuming, but %s has no %s: the resumed fit starts a new W&B run",
                    run_dir, RUN_FILE)  # fmt: skip
    args["id"] = new_run_id()
    return args["id"]
