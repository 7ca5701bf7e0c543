"""Tables of the fronts benchmark, from its records alone (``benchmarks/records.py``).

Contract. Every function takes records (dicts as ``records.build_record`` writes them) and
needs no run directory, so ``benchmarks/fronts.py report`` works on any machine.

- ``select``: the records of the asked tasks / methods / seeds; ``by_task`` groups them.
- ``aggregate``: one ``MethodRow`` per method: mean and sample std (n - 1) over seeds of the
  final test fields, and ``union_front_hv`` of its seeds' final points (HV against the zero
  reference, so dominated and NaN-containing points add nothing / are dropped).
- ``mean_std`` / ``format_mean_std`` / ``render_table``: the markdown cells and table.
- ``warm_start_line``: the warm-start (``start``) test point, one value when every record of a
  seed agrees, else saying they do not.
- ``render_switch_table``: switch step and w* of each run that switched (a row per method, a
  column per seed); ``mean_curve``: the mean val/hv over seeds at each step.
- ``provenance_lines``: the warm-start hashes, machines and commits the records came from.

Deliberately not done: no significance tests and no claims (``paired.py`` counts paired wins).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.provenance import describe_machine

FIELDS = ("accuracy", "tool_calls", "tool_productivity", "hv")
Record = dict[str, Any]


@dataclass
class MethodRow:
    """One table row: per-field (mean, std) over seeds, the seeds, and the union-front HV."""

    method: str
    seeds: list[int]
    stats: dict[str, tuple[float, float]]
    union_hv: float


def select(
    records: list[Record],
    tasks: list[str] | None = None,
    methods: list[str] | None = None,
    seeds: list[int] | None = None,
) -> list[Record]:
    """The records of ``tasks``, ``methods`` and ``seeds`` (None: all)."""
    return [
        r
        for r in records
        if (tasks is None or r["task"] in tasks)
        and (methods is None or r["method"] in methods)
        and (seeds is None or r["seed"] in seeds)
    ]


def by_task(records: list[Record], order: list[str]) -> dict[str, list[Record]]:
    """Task -> its records, tasks in ``order`` first, then the rest by name."""
    tasks = sorted(
        {r["task"] for r in records},
        key=lambda t: (t not in order, order.index(t) if t in order else 0, t),
    )
    return {t: [r for r in records if r["task"] == t] for t in tasks}


def method_order(records: list[Record], order: list[str]) -> list[str]:
    """The methods of ``records``, those in ``order`` first (in its order), then by name."""
    present = {r["method"] for r in records}
    return [m for m in order if m in present] + sorted(present - set(order))


def mean_std(values: list[float | None]) -> tuple[float, float]:
    """(mean, sample std) of the finite values; std is 0 for one value, NaN-pair for none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return math.nan, math.nan
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return statistics.fmean(finite), std


def format_mean_std(mean: float, std: float, n: int, digits: int = 3, sign: bool = False) -> str:
    """``"0.812 ± 0.014"`` (``sign``: ``"+0.812"``, but ``"0.000"`` for a mean that rounds to
    zero); the mean alone when n == 1; an em dash when there is no value."""
    if math.isnan(mean):
        return "—"
    head = f"{mean:+.{digits}f}" if sign else f"{mean:.{digits}f}"
    head = head[1:] if head[1:] == f"{0:.{digits}f}" else head  # no sign on a rounded zero
    return head if n <= 1 else f"{head} ± {std:.{digits}f}"


def union_front_hv(points: list[list[float] | None]) -> float:
    """HV, against the zero reference, of the union of ``points`` (each a K-list; None and
    non-finite points dropped; none left gives 0): ``lightning_paretopo.fronts.union_hv``."""
    from lightning_paretopo.fronts import union_hv

    return union_hv([p for p in points if p is not None])


def final_vector(record: Record) -> list[float]:
    """The final normalised point in the record's objective order."""
    return [record["final"]["point"][name] for name in record["objectives"]]


def aggregate(records: list[Record], order: list[str]) -> list[MethodRow]:
    """One ``MethodRow`` per method of one task's ``records`` (``method_order``)."""
    rows = []
    for method in method_order(records, order):
        runs = sorted((r for r in records if r["method"] == method), key=lambda r: r["seed"])
        stats = {f: mean_std([r["final"].get(f) for r in runs]) for f in FIELDS}
        union = union_front_hv([final_vector(r) for r in runs])
        rows.append(MethodRow(method, [r["seed"] for r in runs], stats, union))
    return rows


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


def warm_start_line(records: list[Record]) -> str:
    """The warm-start point: one value when every seed's records agree, else mean ± std over
    seeds (seeds sample the test rollouts differently), saying whether each seed's agree."""
    by_seed: dict[int, list[Record]] = {}
    for r in (r for r in records if r.get("start")):
        by_seed.setdefault(r["seed"], []).append(r["start"])
    if not by_seed:
        return "Warm-start point: no record holds one."

    def agree(points: list[Record]) -> bool:
        return all(all(p[f] == points[0][f] for f in FIELDS) for p in points)

    total = sum(len(p) for p in by_seed.values())
    per_seed = [points[0] for points in by_seed.values()]
    n = 1 if agree(per_seed) else len(per_seed)
    cells = [f"{f} {format_mean_std(*mean_std([p[f] for p in per_seed]), n)}" for f in FIELDS]
    within = all(agree(points) for points in by_seed.values())
    how = "the same in every run of a seed" if within else "NOT the same across runs of a seed"
    over = "" if n == 1 else f"; mean ± std over {n} seeds"
    return f"Warm-start point (test set, before RL; {total} run(s), {how}{over}): " + (
        ", ".join(cells) + "."
    )


def render_switch_table(records: list[Record], order: list[str], digits: int = 2) -> str:
    """Markdown: a row per method with a switch, a column per seed; a cell is
    ``<switch step>: (w*_1, ..., w*_K)`` in the objective order the caption names."""
    cells: dict[str, dict[int, str]] = {}
    names: list[str] = []
    for method in method_order(records, order):
        for r in sorted((r for r in records if r["method"] == method), key=lambda r: r["seed"]):
            w = r.get("w_star")
            if w:
                names = names or list(r["objectives"])
                values = ", ".join(f"{w[k]:.{digits}f}" for k in names)
                cells.setdefault(method, {})[r["seed"]] = f"{r['switch_step']}: ({values})"
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


def hv_curve(record: Record) -> list[tuple[int, float]]:
    """(step, val/hv) of one record's validations."""
    return [(v["step"], v["hv"]) for v in record.get("val_history", []) if v.get("hv") is not None]


def provenance_lines(records: list[Record]) -> list[str]:
    """Markdown bullets: warm-start hashes, machines, commits (dirty or not), record count."""
    hashes = sorted(
        {f"`{r['warm_start']['sha256'][:12]}` ({r['warm_start']['path']})" for r in records}
    )
    machines = sorted({describe_machine(r["machine"]) for r in records})
    commits = sorted(
        {
            f"`{(r['git']['commit'] or 'unknown')[:10]}`"
            + (" (dirty tree)" if r["git"]["dirty"] else "")
            for r in records
        }
    )
    return [
        f"- {len(records)} record(s); warm start(s): {', '.join(hashes)}",
        f"- machine(s): {'; '.join(machines)}",
        f"- commit(s): {', '.join(commits)}",
    ]
