"""Pure helpers of the fronts benchmark report (``benchmarks/fronts.py report``).

Contract. A benchmark experiment directory ``<logs>/<experiment>/`` holds one directory per
run, named ``<method>-s<seed>`` (``rundir.py``; the runner sets ``--run_name <method>``), each
with a ``summary.json`` (``callbacks/summary.py``: ``start`` and ``final`` test points with
accuracy, tool_calls, tool_productivity, hypervolume and the normalised reward vector
``point``) and CSV logs ``csv/version_*/metrics.csv`` (``step``, ``val/hv`` per validation and
``train/weights/<objective>`` per step).

- ``collect_runs``: method -> its finished runs (a run without ``summary.json`` is left out).
- ``aggregate``: one ``MethodRow`` per method: mean and sample std (n - 1) over seeds of the
  final test fields, and ``union_front_hv`` of its seeds' final points (HV against the zero
  reference, so dominated and NaN-containing points add nothing / are dropped).
- ``start_points``: the warm-start (``start``) records of every run, for the warm-start line.
- ``metric_curves`` / ``hv_curve`` / ``mean_curve``: a run's logged metrics against step
  (versions of a resumed run are merged, the later version winning a step), its val/hv, and
  the mean over seeds at each step.
- ``weight_curves`` / ``frozen_weights`` / ``render_switch_table``: the stage-1 weights
  ``train/weights/<objective>`` against step, w* (the last logged weights of a run with a
  ``switch_step``) and the table of switch step and w* (a row per method, a column per seed).
- ``mean_std`` / ``render_table``: the markdown cells and table.
- ``machine_info``, ``record_invocation`` / ``invocations``: the runner's record of each
  command and machine, ``<experiment>/invocations.jsonl``, which the report quotes.

Deliberately not done: no significance tests and no claims; plotting and the document live in
``benchmarks/fronts.py``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import re
import shlex
import statistics
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from lightning_paretopo.pareto import hypervolume

FIELDS = ("accuracy", "tool_calls", "tool_productivity", "hypervolume")
WEIGHTS = "train/weights/"
_RUN_DIR = re.compile(r"^(?P<method>.+)-s(?P<seed>\d+)$")


@dataclass
class Run:
    """One finished run: its method (the run directory's label), seed, directory and summary."""

    method: str
    seed: int
    run_dir: Path
    summary: dict[str, Any]

    @cached_property
    def curves(self) -> dict[str, list[tuple[int, float]]]:
        """``metric_curves`` of the run, read once."""
        return metric_curves(self.run_dir)


@dataclass
class MethodRow:
    """One table row: per-field (mean, std) over seeds, the seeds, and the union-front HV."""

    method: str
    seeds: list[int]
    stats: dict[str, tuple[float, float]]
    union_hv: float


def parse_run_dir(name: str) -> tuple[str, int] | None:
    """``"static_80_20-s2"`` -> ``("static_80_20", 2)``; None for any other name."""
    match = _RUN_DIR.match(name)
    return None if match is None else (match["method"], int(match["seed"]))


def collect_runs(experiment_dir: Path) -> dict[str, list[Run]]:
    """Method -> its runs with a ``summary.json``, sorted by seed; methods sorted by name."""
    runs: dict[str, list[Run]] = {}
    for path in sorted(Path(experiment_dir).glob("*/summary.json")):
        parsed = parse_run_dir(path.parent.name)
        if parsed is None:
            continue
        summary = json.loads(path.read_text())
        runs.setdefault(parsed[0], []).append(Run(*parsed, path.parent, summary))
    return {m: sorted(rs, key=lambda r: r.seed) for m, rs in sorted(runs.items())}


def mean_std(values: list[float]) -> tuple[float, float]:
    """(mean, sample std) of the finite values; std is 0 for one value, NaN-pair for none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return math.nan, math.nan
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return statistics.fmean(finite), std


def format_mean_std(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``"0.812 ± 0.014"``; the mean alone when n == 1; an em dash when there is no value."""
    if math.isnan(mean):
        return "—"
    if n <= 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def union_front_hv(points: list[list[float]]) -> float:
    """HV, against the zero reference, of the union of ``points`` (each a K-list).

    Points with a NaN or inf entry are dropped; no finite point gives 0.
    """
    finite = [p for p in points if p is not None and all(math.isfinite(float(x)) for x in p)]
    if not finite:
        return 0.0
    Y = torch.tensor(finite, dtype=torch.float64)  # [M, K]
    return hypervolume(Y, torch.zeros(Y.shape[1], dtype=torch.float64))


def aggregate(runs: dict[str, list[Run]], order: list[str] | None = None) -> list[MethodRow]:
    """One ``MethodRow`` per method, in ``order`` first (those present), then the rest by name."""
    order = [m for m in (order or []) if m in runs] + sorted(set(runs) - set(order or []))
    rows = []
    for method in order:
        finals = [r.summary["final"] for r in runs[method]]
        stats = {f: mean_std([final.get(f) for final in finals]) for f in FIELDS}
        union = union_front_hv([final.get("point") for final in finals])
        rows.append(MethodRow(method, [r.seed for r in runs[method]], stats, union))
    return rows


def start_points(runs: dict[str, list[Run]]) -> list[dict[str, Any]]:
    """The ``start`` record of every run that has one (the warm-start policy's test point)."""
    return [r.summary["start"] for rs in runs.values() for r in rs if r.summary.get("start")]


def render_table(rows: list[MethodRow], digits: int = 3) -> str:
    """The markdown table: method, seeds, final test fields (mean ± std), union-front HV."""
    header = ["method", "seeds", "accuracy", "tool calls", "tool productivity", "HV (per run)"]
    header.append("HV (union front)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        n = len(row.seeds)
        cells = [f"`{row.method}`", str(n)]
        cells += [format_mean_std(*row.stats[f], n, digits) for f in FIELDS]
        cells.append(f"{row.union_hv:.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metric_curves(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every logged metric of one run: name -> (step, value) by step, merged over
    ``csv/version_*/metrics.csv`` (a resumed run's newer version wins a step)."""
    by_key: dict[str, dict[int, float]] = {}
    versions = sorted(
        Path(run_dir).glob("csv/version_*/metrics.csv"),
        key=lambda p: int(p.parent.name.split("_")[-1]),
    )
    for path in versions:
        with path.open(newline="") as f:
            for record in csv.DictReader(f):
                step = record.get("step")
                if step in (None, ""):
                    continue
                for key, value in record.items():
                    if key not in ("epoch", "step") and value not in (None, ""):
                        by_key.setdefault(key, {})[int(float(step))] = float(value)
    return {key: sorted(values.items()) for key, values in by_key.items()}


def _curves(run: Path | Run) -> dict[str, list[tuple[int, float]]]:
    """A ``Run``'s ``curves`` (read once), or ``metric_curves`` of a run directory."""
    return run.curves if isinstance(run, Run) else metric_curves(run)


def hv_curve(run: Path | Run) -> list[tuple[int, float]]:
    """(step, val/hv) of one run (a ``Run`` or its directory), by step."""
    return _curves(run).get("val/hv", [])


def weight_curves(run: Path | Run) -> dict[str, list[tuple[int, float]]]:
    """Objective -> (step, stage-1 weight ``train/weights/<objective>``) of one run (a ``Run``
    or its directory)."""
    return {k[len(WEIGHTS) :]: v for k, v in _curves(run).items() if k.startswith(WEIGHTS)}


def frozen_weights(run: Run) -> dict[str, float] | None:
    """w* of a run that switched to stage 2 (``summary.json`` has a ``switch_step``): the last
    logged weights, which stage 2 keeps frozen. None for a run without a switch or weights."""
    if run.summary.get("switch_step") is None:
        return None
    return {k: v[-1][1] for k, v in weight_curves(run).items() if v} or None


def render_switch_table(runs: dict[str, list[Run]], order: list[str], digits: int = 2) -> str:
    """Markdown: one row per method with a stage switch, one column per seed; a cell is
    ``<switch step>: (w*_1, ..., w*_K)``, in the objective order the caption names."""
    cells: dict[str, dict[int, str]] = {}
    names: list[str] = []
    for method in order:
        for run in runs.get(method, []):
            w = frozen_weights(run)
            if w is not None:
                names = names or list(w)
                values = ", ".join(f"{w[k]:.{digits}f}" for k in names)
                cells.setdefault(method, {})[run.seed] = f"{run.summary['switch_step']}: ({values})"
    if not cells:
        return ""
    seeds = sorted({seed for by_seed in cells.values() for seed in by_seed})
    lines = [
        f"Stage switch per run, `step: w*` with w* over ({', '.join(names)}):",
        "",
        f"| method | {' | '.join(f'seed {s}' for s in seeds)} |",
        "|---|" + "---|" * len(seeds),
    ]
    for method, by_seed in cells.items():
        lines.append(f"| `{method}` | " + " | ".join(by_seed.get(s, "–") for s in seeds) + " |")
    return "\n".join(lines)


def mean_curve(curves: list[list[tuple[int, float]]]) -> list[tuple[int, float, int]]:
    """(step, mean over the curves that have the step, how many have it), by step."""
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for step, value in curve:
            by_step.setdefault(step, []).append(value)
    return [(s, statistics.fmean(v), len(v)) for s, v in sorted(by_step.items())]


def machine_info() -> dict[str, object]:
    """Python platform, CPU model and count, torch version: where the runs ran."""
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = lines[0].split(":", 1)[1].strip() if lines else model
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
    }


def record_invocation(
    experiments: list[str], argv: list[str], logs_root: Path = Path("logs")
) -> None:
    """Append the command and the machine to ``<logs_root>/<experiment>/invocations.jsonl``."""
    entry = {"command": shlex.join(["python", "benchmarks/fronts.py", *argv])}
    entry |= {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info()}
    for experiment in experiments:
        path = Path(logs_root) / experiment / "invocations.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(json.dumps(entry) + "\n")


def invocations(experiment_dir: Path) -> list[dict[str, Any]]:
    """The runner's recorded invocations (command, time, machine) for one experiment."""
    path = Path(experiment_dir) / "invocations.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln] if path.exists() else []
