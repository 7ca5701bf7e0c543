"""Run directories as finished fits leave them: ``summary.json`` and ``config.yaml``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

START = {"accuracy": 0.8, "tool_calls": 1.0, "hypervolume": 0.6, "point": [0.8, 0.75], "n": 40}


def write_run(root: Path, experiment: str, method: str, seed: int, acc: float, calls: float,
              names: tuple[str, ...] = ("accuracy", "tool_efficiency"), budget: float = 4.0,
              extra: list[float] | None = None) -> Path:  # fmt: skip
    """A finished run: ``point = [acc, 1 - calls / budget, *extra]``, HV their product."""
    run = root / experiment / f"{method}-s{seed}"
    run.mkdir(parents=True)
    point = [acc, 1 - calls / budget, *(extra or [])]
    hv = 1.0
    for v in point:
        hv *= v
    final = {"accuracy": acc, "tool_calls": calls, "hypervolume": hv, "point": point, "n": 40}
    summary = {"method": method, "start": START | {"point": START["point"] + (extra or [])},
               "final": final, "switch_step": 5}  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    heads = [{"class_path": "x", "init_args": {"name": n}} for n in names]
    config = {"model": {"init_args": {"objectives": {"init_args": {"heads": heads}}}}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.fixture
def runs_folder(tmp_path: Path) -> Path:
    """Two methods, two seeds each, and one run still in progress (no summary.json)."""
    root = tmp_path / "logs"
    write_run(root, "quickstart", "paretopo", 0, acc=0.9, calls=1.0)
    write_run(root, "quickstart", "paretopo", 1, acc=0.8, calls=0.4)
    write_run(root, "quickstart", "static_0.5_0.5", 0, acc=0.85, calls=2.0)
    write_run(root, "quickstart", "static_0.5_0.5", 1, acc=0.75, calls=2.0)
    unfinished = root / "quickstart" / "gdpo-s0"
    unfinished.mkdir()
    (unfinished / "config.yaml").write_text("{}")
    return root / "quickstart"
