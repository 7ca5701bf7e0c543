"""Brute-force references for the Pareto package, in plain Python (no torch, no BoTorch).

Each is the slowest obvious method, written independently of the library code:
- ``brute_force_ranks``: O(M^3) peeling of non-dominated fronts;
- ``hv_2d_sweep``: cells between consecutive distinct x values, each as tall as the highest
  point at or right of it;
- ``hv_grid``: coordinate compression in every objective and a count of the dominated grid
  cells (exact for any K; O(M^K * M), so only for small sets);
- ``finite_difference_gradient``: the literal g_k of ALGORITHM.md through a given HV function.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    """a >= b everywhere and a > b somewhere (maximisation)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def brute_force_ranks(Y: Sequence[Point]) -> list[int]:
    """Front index of each row: peel the rows no remaining row dominates, repeatedly."""
    ranks = [-1] * len(Y)
    remaining = set(range(len(Y)))
    front = 0
    while remaining:
        current = {
            i for i in remaining if not any(dominates(Y[j], Y[i]) for j in remaining if j != i)
        }
        for i in current:
            ranks[i] = front
        remaining -= current
        front += 1
    return ranks


def brute_force_domination_count(Y: Sequence[Point]) -> list[int]:
    """How many rows each row dominates."""
    return [sum(dominates(a, b) for b in Y) for a in Y]


def _above(Y: Sequence[Point], ref: Point) -> list[Point]:
    return [y for y in Y if all(v > r for v, r in zip(y, ref, strict=True))]


def hv_2d_sweep(Y: Sequence[Point], ref: Point) -> float:
    """Exact 2-D hypervolume: sum of x-cells times the tallest point at or right of each."""
    pts = _above(Y, ref)
    xs = sorted({ref[0], *(p[0] for p in pts)})
    area = 0.0
    for left, right in itertools.pairwise(xs):
        height = max(p[1] for p in pts if p[0] >= right)
        area += (right - left) * (height - ref[1])
    return area


def hv_grid(Y: Sequence[Point], ref: Point) -> float:
    """Exact hypervolume for any K by counting dominated cells of the compressed grid."""
    pts = _above(Y, ref)
    K = len(ref)
    axes = [sorted({ref[k], *(p[k] for p in pts)}) for k in range(K)]
    volume = 0.0
    for cell in itertools.product(*(range(1, len(axis)) for axis in axes)):
        upper = [axes[k][c] for k, c in enumerate(cell)]
        if any(all(p[k] >= upper[k] for k in range(K)) for p in pts):
            volume += math.prod(axes[k][c] - axes[k][c - 1] for k, c in enumerate(cell))
    return volume


def finite_difference_gradient(
    hv: Callable[[list[Point]], float], archive: Sequence[Point], point: Point, delta: float
) -> list[float]:
    """g_k = [HV(P u {p + delta e_k}) - HV(P u {p})] / delta, literally (p already projected)."""
    base = hv([*archive, point])
    grads = []
    for k in range(len(point)):
        q = list(point)
        q[k] = point[k] + delta
        grads.append((hv([*archive, q]) - base) / delta)
    return grads
