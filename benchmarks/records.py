"""The fronts benchmark's records: one small JSON file per finished run, committed to git.

Contract. ``benchmarks/records/<task>/s<seed>/<method>.json`` (``record_path``; ``--max-steps``
smoke runs write under ``benchmarks/records-smoke/steps<N>/``, git-ignored) is built by
``build_record`` from a finished run directory (``summary.json`` of
``lightning_paretopo/callbacks/summary.py``, the CSV metrics ``csv/version_*/metrics.csv``, the
saved ``config.yaml`` and the runner's ``provenance.jsonl``) and holds, format ``FORMAT``:

- ``task``, ``seed``, ``method``, ``max_steps`` (None for a full run), ``objectives`` (names, in
  column order, from the saved config's reward heads);
- ``final`` and ``start`` (the warm-start policy): accuracy, tool_calls, tool_productivity,
  hv (of the normalised point against the zero reference), ``point`` (objective -> normalised
  value), n / tasks / samples_per_task, and ``decoding``;
- ``val_history``: per validation, step, hv (val/hv: the HV of the run's validation archive),
  accuracy and tool_calls;
- ``switch_step`` and ``w_star`` (the last logged stage-1 weights of a run that switched,
  which stage 2 keeps frozen), ``global_step``, ``zero_advantage`` (the summary's warning of
  training steps whose advantages were all 0, or None);
- ``warm_start`` (policy path, sha256, files; ``provenance.policy_hash``), ``git`` and
  ``machine`` of the first launch, ``command`` (the first launch's), every ``launches`` entry
  (action, command, time, git, exit; a resume adds one; all share the warm start and machine) and ``wall_time_s`` (``fit``: the summary's fit time; ``runner``: the sum
  of the launches' measured times, None when one was not measured).

A **block** (one task x one seed) holds records of one warm start and one machine only:
``check_block`` raises ``BlockMismatch`` naming both sides when a record, or a run about to be
started, resumed or recorded, comes from another policy hash or machine (``machine_key``).

Deliberately not done: no per-step training metrics (they stay in ``logs/``), no rollouts.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.provenance import machine_key, read_launches

FORMAT = 1
REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "benchmarks" / "records"
SMOKE_RECORDS = REPO / "benchmarks" / "records-smoke"
WEIGHTS = "train/weights/"
LAUNCH_FIELDS = ("action", "command", "time", "git", "exit")  # machine, warm start: top level


NOT_OURS = (
    "finished without a provenance.jsonl launch line: benchmarks/fronts.py run did not start "
    "it, so its warm start and machine are unknown; move the directory away to run it again"
)


class BlockMismatch(RuntimeError):
    """A run would mix warm starts or machines within one block."""


def default_records_dir(max_steps: int | None) -> Path:
    """``benchmarks/records``, or ``benchmarks/records-smoke/steps<N>`` for smoke runs."""
    return RECORDS if max_steps is None else SMOKE_RECORDS / f"steps{max_steps}"


def record_path(records_dir: Path, task: str, seed: int, method: str) -> Path:
    return Path(records_dir) / task / f"s{seed}" / f"{method}.json"


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
            for row in csv.DictReader(f):
                step = row.get("step")
                if step in (None, ""):
                    continue
                for key, value in row.items():
                    if key not in ("epoch", "step") and value not in (None, ""):
                        by_key.setdefault(key, {})[int(float(step))] = float(value)
    return {key: sorted(values.items()) for key, values in by_key.items()}


def objective_names(run_dir: Path, curves: dict[str, list]) -> list[str]:
    """The objectives in column order: the reward heads' ``name`` in the run's saved config
    (``config.yaml``, else ``config-resume.yaml``); without one, the logged weight columns."""
    for name in ("config.yaml", "config-resume.yaml"):
        path = Path(run_dir) / name
        if path.is_file():
            config = yaml.safe_load(path.read_text())
            heads = config["model"]["init_args"]["objectives"]["init_args"]["heads"]
            return [h["init_args"]["name"] for h in heads]
    return [k[len(WEIGHTS) :] for k in curves if k.startswith(WEIGHTS)]


def point(summary_point: dict[str, Any] | None, names: list[str]) -> dict[str, Any] | None:
    """A summary's test point as a record's (``hv``; ``point`` by objective name)."""
    if summary_point is None:
        return None
    values = summary_point["point"]
    if len(values) != len(names):
        raise ValueError(f"a point of {len(values)} values for objectives {names}")
    keep = ("n", "tasks", "samples_per_task", "accuracy", "tool_calls", "tool_productivity")
    out = {k: summary_point[k] for k in keep if k in summary_point}
    return out | {
        "hv": summary_point["hypervolume"],
        "point": dict(zip(names, values, strict=True)),
    }


def val_history(curves: dict[str, list[tuple[int, float]]]) -> list[dict[str, Any]]:
    """(step, hv, accuracy, tool_calls) per validation (a step that logged val/hv)."""
    cols = {f: dict(curves.get(f"val/{f}", [])) for f in ("hv", "accuracy", "tool_calls")}
    return [{"step": step, **{f: cols[f].get(step) for f in cols}} for step in sorted(cols["hv"])]


def w_star(
    summary: dict[str, Any], curves: dict[str, list], names: list[str]
) -> dict[str, float] | None:
    """The last logged stage-1 weights of a run with a ``switch_step``, in the objectives'
    order (the CSV's columns are sorted by name), else None."""
    if summary.get("switch_step") is None:
        return None
    last = {k[len(WEIGHTS) :]: v[-1][1] for k, v in curves.items() if k.startswith(WEIGHTS) and v}
    return {name: last[name] for name in names if name in last} or None


def build_record(
    run_dir: Path, task: str, seed: int, method: str, max_steps: int | None = None
) -> dict[str, Any]:
    """The record of a finished run (module docstring).

    Raises:
        FileNotFoundError: no ``summary.json``, or no ``provenance.jsonl`` launch (a run the
            runner did not start cannot say which warm start and machine made it).
        BlockMismatch: the run's launches disagree on the warm start or the machine.
    """
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    launches = read_launches(run_dir)
    if not launches:
        raise FileNotFoundError(f"{run_dir} {NOT_OURS}")
    first = launches[0]
    for later in launches[1:]:
        if identity(later) != identity(first):
            raise BlockMismatch(
                f"{run_dir}: its launches differ: {identity(first)} vs {identity(later)}"
            )
    curves = metric_curves(run_dir)
    names = objective_names(run_dir, curves)
    walls = [launch.get("exit", {}).get("wall_s") for launch in launches]
    return {
        "format": FORMAT,
        "task": task,
        "seed": seed,
        "method": method,
        "max_steps": max_steps,
        "objectives": names,
        "decoding": summary.get("decoding"),
        "final": point(summary["final"], names),
        "start": point(summary.get("start"), names),
        "val_history": val_history(curves),
        "switch_step": summary.get("switch_step"),
        "w_star": w_star(summary, curves, names),
        "global_step": summary.get("global_step"),
        "zero_advantage": summary.get("zero_advantage"),
        "warm_start": first["warm_start"],
        "git": first["git"],
        "machine": first["machine"],
        "command": first["command"],
        "launches": [{k: v for k, v in e.items() if k in LAUNCH_FIELDS} for e in launches],
        "wall_time_s": {
            "fit": summary.get("wall_time_s"),
            "runner": None if None in walls else round(sum(walls), 1),
        },
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def identity(entry: dict[str, Any]) -> dict[str, Any]:
    """What a block's records share: the warm-start sha256 and the machine key."""
    return {"warm_start": entry["warm_start"]["sha256"], "machine": machine_key(entry["machine"])}


def load_records(records_dir: Path) -> list[dict[str, Any]]:
    """Every ``<task>/s<seed>/<method>.json`` under ``records_dir``, sorted by path."""
    paths = sorted(Path(records_dir).glob("*/s*/*.json"))
    return [json.loads(p.read_text()) for p in paths]


def block_records(records_dir: Path, task: str, seed: int) -> dict[str, dict[str, Any]]:
    """Method -> record of one block."""
    paths = sorted((Path(records_dir) / task / f"s{seed}").glob("*.json"))
    return {p.stem: json.loads(p.read_text()) for p in paths}


def check_block(
    existing: dict[str, dict[str, Any]], new: dict[str, Any], what: str, block: str
) -> None:
    """Raise ``BlockMismatch`` when ``new`` (a record or a launch entry: warm_start, machine)
    differs in warm-start hash or machine key from any of ``existing`` (label -> record or
    launch entry, e.g. ``"the record of otc"``)."""
    want = identity(new)
    for label, entry in sorted(existing.items()):
        have = identity(entry)
        if have != want:
            fields = [k for k in want if want[k] != have[k]]
            raise BlockMismatch(
                f"block {block}: {what} would come from {' and '.join(fields)} "
                f"{[want[k] for k in fields]}, but {label} came from "
                f"{[have[k] for k in fields]}; a block never mixes warm starts or machines: "
                "run it on the machine and policy of its records, or move the block's records "
                "away to start it again"
            )


def labelled(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``block_records`` keyed ``"the record of <method>"`` for ``check_block``."""
    return {f"the record of {method}": record for method, record in records.items()}


def write_record(records_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` at its ``record_path`` after ``check_block`` against its block."""
    task, seed, method = record["task"], record["seed"], record["method"]
    others = {m: r for m, r in block_records(records_dir, task, seed).items() if m != method}
    check_block(labelled(others), record, f"the record of {method}", f"{task} s{seed}")
    path = record_path(records_dir, task, seed, method)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path
