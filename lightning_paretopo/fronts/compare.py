"""Per-method numbers of a set of runs: points, fronts and hypervolumes (pure functions).

- ``method_rows(runs)``: one ``MethodRow`` per method (in order of first appearance): its seeds,
  mean ± std over its runs of the final accuracy, tool calls and HV, and the HV of the union of
  its runs' final points (the method's front).
- ``union_hv(points)``: HV of a set of normalised points against the zero reference (the
  hypervolume reference of ALGORITHM.md: every objective in [0, 1], 0 the worst).
- ``front_indices`` (``plots``): the non-dominated points in (tool calls, accuracy).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from lightning_paretopo.fronts.runs import RunPoints

STATS = ("accuracy", "tool_calls", "hypervolume")


@dataclass
class MethodRow:
    """One method's runs: ``stats[field] = (mean, std, n)``; ``front_hv`` of their union."""

    method: str
    seeds: list[int | None]
    stats: dict[str, tuple[float, float, int]]
    front_hv: float


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample std (0 for one value) and count of the finite ``values``."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return math.nan, math.nan, 0
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return statistics.fmean(finite), std, len(finite)


def union_hv(points: list[list[float]]) -> float:
    """HV of the union of ``points`` (each a K-list of normalised objectives) against zero."""
    import torch

    from lightning_paretopo.pareto import hypervolume

    finite = [p for p in points if p and all(math.isfinite(float(x)) for x in p)]
    if not finite:
        return 0.0
    Y = torch.tensor(finite, dtype=torch.float64)  # [M, K]
    return float(hypervolume(Y, torch.zeros(Y.shape[1], dtype=torch.float64)))


def methods_in_order(runs: list[RunPoints]) -> list[str]:
    """Method labels in order of first appearance."""
    return list(dict.fromkeys(r.method for r in runs))


def method_rows(runs: list[RunPoints]) -> list[MethodRow]:
    """One row per method of ``runs``."""
    rows = []
    for method in methods_in_order(runs):
        mine = [r for r in runs if r.method == method]
        stats = {f: mean_std([r.final.get(f) for r in mine]) for f in STATS}
        front = union_hv([list(r.final.get("point") or []) for r in mine])
        rows.append(MethodRow(method, [r.seed for r in mine], stats, front))
    return rows


def start_points(runs: list[RunPoints]) -> list[tuple[float, float]]:
    """The distinct (tool calls, accuracy) start points of ``runs`` (one per warm start)."""
    found = {(r.start["tool_calls"], r.start["accuracy"]) for r in runs if r.start}
    return sorted(found)


def format_stat(stat: tuple[float, float, int], digits: int = 3) -> str:
    """``mean ± std`` (just the mean for one run, ``-`` for none)."""
    mean, std, n = stat
    if n == 0:
        return "-"
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def render_markdown(rows: list[MethodRow], digits: int = 3) -> str:
    """The per-method table as Markdown (also what the command prints)."""
    lines = [
        "| method | runs | seeds | accuracy | tool calls | HV (mean ± std) | HV of the front |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        seeds = ",".join("-" if s is None else str(s) for s in row.seeds)
        cells = [format_stat(row.stats[f], digits) for f in STATS]
        lines.append(f"| {row.method} | {len(row.seeds)} | {seeds} | {' | '.join(cells)} | "
                     f"{row.front_hv:.{digits}f} |")  # fmt: skip
    return "\n".join(lines)
