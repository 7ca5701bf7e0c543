"""Paired comparisons of the fronts benchmark: each method against each baseline, within blocks.

Contract. Two records are paired when they share a block: the same task and seed, hence the
same warm start and machine (``records.check_block``; records of one seed with different
warm-start hashes raise ``ValueError`` here rather than being paired). For a method M and a
baseline B on one task, ``paired`` takes the per-seed differences d_s = HV(M, s) - HV(B, s) of
the final test HV over the seeds both have, and reports n, wins / losses / ties (d > TIE,
d < -TIE, else; ``TIE`` = 1e-9, so bit-identical runs tie) and the mean of d with its sample
standard deviation (n - 1; none for n = 1).

``roles`` splits the methods into ParetoPO's family (``paretopo*``, ``stage1_only``,
``stage2_only``), compared against every other method (the baselines). ``best_fixed`` is the
task's best fixed weighting: the ``static_*`` method with the highest mean final HV on the same
records (chosen after the fact, so a comparison with it favours the baseline).
``across_tasks`` gives, per method, the mean over tasks of its mean HV and the mean over tasks
of its mean paired difference against that task's best fixed weighting.

Deliberately not done: no p-values; with 3 seeds a count of wins says more than a test would.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.fronts_plan import FIXED_WEIGHTINGS
from benchmarks.fronts_report import format_mean_std, mean_std, method_order

TIE = 1e-9
FAMILY_EXTRA = ("stage1_only", "stage2_only")
Record = dict[str, Any]


@dataclass
class Paired:
    """Method against baseline on one task: n pairs, wins/losses/ties, mean and std of d."""

    method: str
    baseline: str
    seeds: list[int]
    wins: int
    losses: int
    ties: int
    mean: float
    std: float

    @property
    def n(self) -> int:
        return len(self.seeds)


def _by_seed(records: list[Record], method: str) -> dict[int, Record]:
    return {r["seed"]: r for r in records if r["method"] == method}


def paired(records: list[Record], method: str, baseline: str, tie: float = TIE) -> Paired:
    """``method`` against ``baseline`` over one task's ``records`` (module docstring)."""
    mine, theirs = _by_seed(records, method), _by_seed(records, baseline)
    seeds = sorted(set(mine) & set(theirs))
    diffs = []
    for seed in seeds:
        a, b = mine[seed], theirs[seed]
        if a["warm_start"]["sha256"] != b["warm_start"]["sha256"]:
            raise ValueError(
                f"{a['task']} seed {seed}: {method} and {baseline} come from different warm "
                "starts; records of one block must share one"
            )
        diffs.append(a["final"]["hv"] - b["final"]["hv"])
    wins, losses = sum(d > tie for d in diffs), sum(d < -tie for d in diffs)
    mean, std = mean_std(diffs)
    return Paired(method, baseline, seeds, wins, losses, len(diffs) - wins - losses, mean, std)


def in_family(method: str) -> bool:
    return method.startswith("paretopo") or method in FAMILY_EXTRA


def roles(methods: list[str]) -> tuple[list[str], list[str]]:
    """(ParetoPO's family, the baselines), each in the given order."""
    return [m for m in methods if in_family(m)], [m for m in methods if not in_family(m)]


def render_paired_table(records: list[Record], order: list[str], digits: int = 3) -> str:
    """Markdown: a row per (family method, baseline) with n, W / L / T and mean d ± std."""
    family, baselines = roles(method_order(records, order))
    if not family or not baselines:
        return ""
    lines = [
        "| method | baseline | n (seeds) | wins / losses / ties | mean paired ΔHV ± std |",
        "|---|---|---|---|---|",
    ]
    for method in family:
        for baseline in baselines:
            p = paired(records, method, baseline)
            cell = format_mean_std(p.mean, p.std, p.n, digits, sign=True)
            lines.append(
                f"| `{method}` | `{baseline}` | {p.n} | {p.wins} / {p.losses} / {p.ties} | {cell} |"
            )
    return "\n".join(lines)


def mean_hv(records: list[Record], method: str) -> float:
    return mean_std([r["final"]["hv"] for r in records if r["method"] == method])[0]


def best_fixed(records: list[Record]) -> str | None:
    """The ``static_*`` method of ``records`` with the highest mean final HV (None: none)."""
    present = [m for m in FIXED_WEIGHTINGS if any(r["method"] == m for r in records)]
    return max(present, key=lambda m: mean_hv(records, m), default=None)


@dataclass
class AcrossRow:
    """One method over tasks: its mean HV per task, and its paired d against each best fixed."""

    method: str
    hv: dict[str, float]
    vs_best: dict[str, Paired]


def across_tasks(tasks: dict[str, list[Record]], order: list[str]) -> list[AcrossRow]:
    """A row per method present in any task (module docstring)."""
    methods = method_order([r for rs in tasks.values() for r in rs], order)
    best = {task: best_fixed(rs) for task, rs in tasks.items()}
    rows = []
    for method in methods:
        hv = {
            t: mean_hv(rs, method)
            for t, rs in tasks.items()
            if any(r["method"] == method for r in rs)
        }
        vs = {t: paired(tasks[t], method, best[t]) for t in hv if best[t] is not None}
        rows.append(AcrossRow(method, hv, {t: p for t, p in vs.items() if p.n}))
    return rows


def render_across(tasks: dict[str, list[Record]], order: list[str], digits: int = 3) -> str:
    """Markdown: per method, mean over tasks of mean HV, and of the mean paired d against the
    task's best fixed weighting (n tasks, total pairs, and W / L / T summed over tasks)."""
    if not tasks:
        return ""
    best = ", ".join(f"{t}: `{best_fixed(rs) or 'none'}`" for t, rs in tasks.items())
    lines = [
        f"Best fixed weighting per task (highest mean HV on these records): {best}.",
        "",
        "| method | tasks | mean over tasks of mean HV | tasks paired | pairs | W / L / T "
        "| mean over tasks of mean ΔHV vs best fixed ± std over tasks |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in across_tasks(tasks, order):
        hv = statistics.fmean(row.hv.values())
        ds = [p.mean for p in row.vs_best.values()]
        wlt = [sum(getattr(p, f) for p in row.vs_best.values()) for f in ("wins", "losses", "ties")]
        pairs = sum(p.n for p in row.vs_best.values())
        d = format_mean_std(*mean_std(ds), len(ds), digits, sign=True) if ds else "—"
        lines.append(
            f"| `{row.method}` | {len(row.hv)} | {hv:.{digits}f} | {len(ds)} | {pairs} "
            f"| {' / '.join(map(str, wlt))} | {d} |"
        )
    return "\n".join(lines)
