"""The finished runs under a folder: each run's start and final test points (``summary.json``).

A run directory is ``logs/<experiment>/<label>-s<seed>/`` (``rundir.py``) holding
``summary.json`` (written by ``callbacks.RunSummary`` at the end of a fit) and ``config.yaml``.
``find_runs(folder)`` accepts any folder above run directories (one experiment, or ``logs/``)
or a run directory itself, and returns one ``RunPoints`` per finished run, sorted by path. A
run without ``summary.json`` (still running, or crashed) is skipped and named by
``unfinished_runs``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_RUN_DIR = re.compile(r"^(?P<label>.+)-s(?P<seed>\d+)$")


@dataclass
class RunPoints:
    """One finished run: where it is, its method label and seed, and its test points.

    ``start`` / ``final`` are ``summary.json``'s points: ``accuracy``, ``tool_calls``,
    ``hypervolume`` and ``point`` (the normalised objective vector, ``objectives`` order).
    """

    path: Path
    experiment: str
    method: str
    seed: int | None
    objectives: list[str]
    final: dict[str, Any]
    start: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``<experiment>/<method>-s<seed>``."""
        return f"{self.experiment}/{self.path.name}"


def objective_names(run_dir: Path) -> list[str]:
    """The reward heads' names from the run's saved config (``[]`` without one)."""
    for name in ("config.yaml", "config-resume.yaml"):
        path = Path(run_dir) / name
        if path.is_file():
            config = yaml.safe_load(path.read_text()) or {}
            init = (config.get("model") or {}).get("init_args") or {}
            heads = ((init.get("objectives") or {}).get("init_args") or {}).get("heads") or []
            return [str((h.get("init_args") or {}).get("name", "")) for h in heads]
    return []


def read_run(run_dir: Path) -> RunPoints:
    """The ``RunPoints`` of one run directory that holds ``summary.json``."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    if not summary.get("final"):
        raise ValueError(f"{run_dir / 'summary.json'}: no final test point")
    match = _RUN_DIR.match(run_dir.name)
    method = match["label"] if match else str(summary.get("method") or run_dir.name)
    names = objective_names(run_dir)
    k = len(summary["final"].get("point") or [])
    if len(names) != k or not all(names):
        names = ["accuracy", "tool_efficiency"] if k == 2 else [f"objective_{i}" for i in range(k)]
    return RunPoints(
        path=run_dir,
        experiment=run_dir.parent.name,
        method=method,
        seed=int(match["seed"]) if match else None,
        objectives=names,
        final=summary["final"],
        start=summary.get("start"),
        extra={k: summary.get(k) for k in ("switch_step", "decoding", "global_step")},
    )


def find_runs(folder: Path) -> list[RunPoints]:
    """Every finished run at or under ``folder``, sorted by path."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: no such folder (expected logs/<experiment>)")
    summaries = [folder / "summary.json"] if (folder / "summary.json").is_file() else []
    summaries += sorted(folder.glob("**/summary.json"))
    return [read_run(p.parent) for p in sorted(set(summaries))]


def unfinished_runs(folder: Path) -> list[Path]:
    """Run directories under ``folder`` (they hold ``config.yaml``) without ``summary.json``."""
    return sorted(
        p.parent
        for p in Path(folder).glob("**/config.yaml")
        if not (p.parent / "summary.json").exists()
    )
