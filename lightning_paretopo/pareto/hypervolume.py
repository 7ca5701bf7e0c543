"""Hypervolume (BoTorch), exact contributions, the diagonal projection and the HV gradient.

Convention: every objective is maximised. The hypervolume HV(Y; ref) is the volume of the union
of the boxes [ref, y] over the points y of Y that strictly dominate ref (y > ref in every
objective); other points add nothing. The empty set has HV 0. All arithmetic is float64 on
the CPU (these sets are small); tensors returned are CPU float64.

- ``hypervolume`` is BoTorch's: its ``Hypervolume`` class (a dimension sweep, faster on small
  fronts) or ``DominatedPartitioning`` (faster on large fronts), chosen by the measured
  crossover in ``_HV_CLASS_MAX_POINTS``. NaN columns follow ``dominance.fill_inapplicable``: a
  column NaN in every row is dropped (from Y and ref); a partly NaN column raises ValueError.
- ``hypervolume_contribution`` and ``hypervolume_gradient`` use the identity
  HV(P u {x}) - HV(P) = vol(B) - HV({min(a, hi) : a in P}; lo) for a box B = [lo, hi] whose
  part outside D(P) is what x adds. For K <= 3 that clipped volume is an exact sweep written
  here (``_sweep_volume``); for K >= 4 it is BoTorch's ``hypervolume``. Tests pin both against
  the literal difference of ``hypervolume`` calls to 1e-9.
- ``hypervolume_gradient`` is ALGORITHM.md stage 1 step 3: project the point off the dominated
  region (S2), then g_k = [HV(P u {p' + delta e_k}) - HV(P u {p'})] / delta, computed as the
  uncovered volume of the slab [p'_k, p'_k + delta] x prod_{j != k} [ref_j, p'_j].

- ``point_hypervolume_gradient`` is anchor S7 ``point``: the gradient of HV({p}; ref) at p
  itself, g_k = prod_{j != k} max(p_j - ref_j, 0), with no archive and no projection.

Not done here: the contribution and gradient functions do not accept NaN (the archive and the
stage-1 rule only hold complete points); nothing here keeps state (see ``archive.py``).
"""

from __future__ import annotations

import bisect
import operator

import torch
from botorch.utils.multi_objective.box_decompositions.dominated import DominatedPartitioning
from botorch.utils.multi_objective.hypervolume import Hypervolume
from torch import Tensor

from lightning_paretopo.pareto.dominance import fill_inapplicable, is_non_dominated

# Largest front (after filtering) for which BoTorch's ``Hypervolume`` sweep beats
# ``DominatedPartitioning``, measured with botorch 0.18.1 on a 2-core AMD EPYC
# (see docs/benchmarks.md); keyed by K, with K >= 4 sharing the K = 4 value.
_HV_CLASS_MAX_POINTS = {2: 6, 3: 40, 4: 16}


def _check_points(Y: Tensor, name: str, num_objectives: int | None = None) -> Tensor:
    """Return ``Y`` as a float64 [M, K] tensor, or raise ValueError naming ``name``."""
    if not isinstance(Y, Tensor) or Y.dim() != 2:
        raise ValueError(f"{name} must be a 2-D tensor [M, K]; got {getattr(Y, 'shape', Y)}")
    if num_objectives is not None and Y.shape[1] != num_objectives:
        raise ValueError(f"{name} has {Y.shape[1]} objectives; expected {num_objectives}")
    return Y.detach().to("cpu", torch.float64)


def _check_vector(x: Tensor, name: str, num_objectives: int | None = None) -> Tensor:
    """Return ``x`` as a finite float64 [K] tensor, or raise ValueError naming ``name``."""
    if not isinstance(x, Tensor) or x.dim() != 1:
        raise ValueError(f"{name} must be a 1-D tensor [K]; got {x!r}")
    if num_objectives is not None and x.numel() != num_objectives:
        raise ValueError(f"{name} has {x.numel()} objectives; expected {num_objectives}")
    x = x.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (NaN/inf found): {x.tolist()}")
    return x


def _botorch_hypervolume(Y: Tensor, ref: Tensor) -> float:
    """HV of finite ``Y`` [M, K] (K >= 2) above ``ref`` [K] through BoTorch."""
    Y = Y[(ref < Y).all(dim=-1)]  # [M', K]
    if Y.shape[0] == 0:
        return 0.0
    Y = torch.unique(Y[is_non_dominated(Y)], dim=0)  # [P, K]: the front, duplicates once
    if Y.shape[0] <= _HV_CLASS_MAX_POINTS[min(Y.shape[1], 4)]:
        return float(Hypervolume(ref_point=ref).compute(Y))
    return float(DominatedPartitioning(ref_point=ref, Y=Y).compute_hypervolume())


def hypervolume(Y: Tensor, ref: Tensor) -> float:
    """Hypervolume of ``Y`` above ``ref`` (maximisation), computed with BoTorch.

    Args:
        Y: [M, K] points; M may be 0. Columns NaN in every row are ignored.
        ref: [K] reference point; entries of ignored columns may be NaN.

    Returns:
        The volume of the region dominated by Y and dominating ref (0.0 for no such point).

    Raises:
        ValueError: bad shapes, a partly NaN column of Y, or a NaN/inf in a used entry of ref.
    """
    Y = _check_points(Y, "Y")
    K = Y.shape[1]
    if not isinstance(ref, Tensor) or ref.dim() != 1 or ref.numel() != K:
        raise ValueError(f"ref must be a 1-D tensor [{K}] matching Y [M, {K}]; got {ref!r}")
    fill_inapplicable(Y)  # raises on a partly NaN column
    keep = ~torch.isnan(Y).all(dim=0) if Y.shape[0] > 0 else torch.zeros(K, dtype=torch.bool)
    Y, ref = Y[:, keep], _check_vector(ref.detach().cpu()[keep], "ref", int(keep.sum()))
    if Y.shape[0] == 0 or Y.shape[1] == 0:
        return 0.0
    if Y.shape[1] == 1:
        return max(float(Y.max() - ref[0]), 0.0)
    return _botorch_hypervolume(Y, ref)


def _staircase_insert(xs: list[float], ys: list[float], x: float, y: float) -> float:
    """Insert (x, y) into a 2-D staircase (x ascending, y descending); return the area gained."""
    i = bisect.bisect_left(xs, x)
    if i < len(xs) and ys[i] >= y:
        return 0.0  # weakly dominated by a staircase point
    r = i + 1 if i < len(xs) and xs[i] == x else i  # rows [l, r) have x' <= x and y' <= y
    lft = r
    while lft > 0 and ys[lft - 1] <= y:
        lft -= 1
    gain, left = 0.0, xs[lft - 1] if lft > 0 else 0.0
    for k in range(lft, r):
        gain += (xs[k] - left) * (y - ys[k])
        left = xs[k]
    gain += (x - left) * (y - (ys[r] if r < len(ys) else 0.0))
    xs[lft:r], ys[lft:r] = [x], [y]
    return gain


def _sweep_volume(C: Tensor, lo: Tensor) -> float:
    """Exact HV of ``C`` [n, K] above ``lo`` [K] for K in {1, 2, 3}; every row must be > lo.

    A dimension sweep in plain Python floats (fast for the small sets met here). K = 2: x
    descending with the running maximum of y. K = 3: z descending while a 2-D staircase keeps
    the area of the current slice (Beume et al. 2009's HV3D, with a list for the tree).
    Duplicates and ties add zero-width slices.
    """
    rows = (C - lo).tolist()
    if C.shape[1] == 1:
        return max(r[0] for r in rows)
    if C.shape[1] == 2:
        rows.sort(reverse=True)
        area = top = 0.0
        for (x, y), (x_next, _) in zip(rows, [*rows[1:], (0.0, 0.0)], strict=True):
            top = max(top, y)
            area += (x - x_next) * top
        return area
    rows.sort(key=operator.itemgetter(2), reverse=True)
    xs: list[float] = []
    ys: list[float] = []
    area = volume = 0.0
    z_prev = rows[0][2]
    for x, y, z in rows:
        volume += area * (z_prev - z)
        z_prev = z
        area += _staircase_insert(xs, ys, x, y)
    return volume + area * z_prev


def _clipped_volume(A: Tensor, lo: Tensor, hi: Tensor) -> float:
    """vol([lo, hi] n D(A)) = HV({min(a, hi)}; lo) for finite A [P, K], lo [K] < hi [K]."""
    C = torch.minimum(A, hi)  # [P, K]
    C = C[(lo < C).all(dim=-1)]  # [P', K]
    if C.shape[0] == 0:
        return 0.0
    if C.shape[1] <= 3:
        return _sweep_volume(C, lo)
    return _botorch_hypervolume(C, lo)


def _dominated_by(A: Tensor, x: Tensor) -> Tensor:
    """BoolTensor [P]: rows of ``A`` [P, K] that dominate ``x`` [K]."""
    return (x <= A).all(dim=-1) & (x < A).any(dim=-1)


def hypervolume_contribution(archive: Tensor, point: Tensor, ref: Tensor) -> float:
    """Exact HV(P u {x}) - HV(P) for ``point`` x; 0.0 when x is weakly dominated by P.

    Args:
        archive: [P, K] finite points (need not be non-dominated).
        point: [K] finite candidate.
        ref: [K] finite reference point.
    """
    ref = _check_vector(ref, "ref")
    A = _check_points(archive, "archive", ref.numel())
    x = _check_vector(point, "point", ref.numel())
    if not bool(torch.isfinite(A).all()):
        raise ValueError("archive must be finite (NaN/inf found)")
    if not bool((x > ref).all()) or bool((x <= A).all(dim=-1).any()):
        return 0.0
    return float(torch.prod(x - ref)) - _clipped_volume(A, ref, x)


def project_to_front(archive: Tensor, point: Tensor, eps: float = 1e-6) -> Tensor:
    """Projection S2: move a dominated point along the diagonal until nothing dominates it.

    t* = max over archive points a that dominate p of min_k (a_k - p_k); p' = p + (t* + eps).
    A point no archive point dominates is returned unchanged.

    Args:
        archive: [P, K] finite points.
        point: [K] finite point p.
        eps: > 0, the step past the front.

    Returns:
        [K] float64 projected point p'.
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0 so the projected point leaves the front; got {eps}")
    p = _check_vector(point, "point")
    A = _check_points(archive, "archive", p.numel())
    dominating = A[_dominated_by(A, p)]  # [D, K]
    if dominating.shape[0] == 0:
        return p.clone()
    t_star = (dominating - p).min(dim=-1).values.max()
    return p + (t_star + eps)


def hypervolume_gradient(
    archive: Tensor, point: Tensor, ref: Tensor, delta: float = 1e-3, eps: float = 1e-6
) -> Tensor:
    """The stage-1 HV-gradient direction g (ALGORITHM.md stage 1, step 3).

    g_k = [HV(P u {p' + delta e_k}) - HV(P u {p'})] / delta with p' = ``project_to_front``,
    evaluated exactly as the volume of the slab [max(ref_k, p'_k), p'_k + delta] x
    prod_{j != k} [ref_j, p'_j] not already dominated by P, divided by delta.

    Args:
        archive: [P, K] finite points (the global archive; may contain ``point``).
        point: [K] finite EMA policy point p.
        ref: [K] finite reference point.
        delta: > 0, the finite-difference step.
        eps: > 0, the projection step past the front.

    Returns:
        [K] float64, g_k >= 0; all zero when p' does not dominate ref in two or more objectives.
    """
    if not delta > 0:
        raise ValueError(f"delta must be > 0 (the finite-difference step); got {delta}")
    ref = _check_vector(ref, "ref")
    A = _check_points(archive, "archive", ref.numel())
    if not bool(torch.isfinite(A).all()):
        raise ValueError("archive must be finite (NaN/inf found)")
    p = project_to_front(A, _check_vector(point, "point", ref.numel()), eps)  # [K]
    A = A[(ref < A).all(dim=-1)]  # [P', K]: only these dominate any volume
    K = p.numel()
    g = torch.zeros(K, dtype=torch.float64)
    for k in range(K):
        hi = p.clone()
        hi[k] = p[k] + delta  # q = p' + delta e_k
        lo = ref.clone()
        lo[k] = torch.maximum(ref[k], p[k])
        if not bool((hi > lo).all()):
            continue
        slab = float(torch.prod(hi - lo))
        covered = _clipped_volume(A, lo, hi) if A.shape[0] > 0 else 0.0
        g[k] = (slab - covered) / delta
    return g


def point_hypervolume_gradient(point: Tensor, ref: Tensor) -> Tensor:
    """Anchor S7 ``point``: g_k = prod_{j != k} max(p_j - ref_j, 0), the gradient of HV({p}).

    Args:
        point: [K] finite EMA policy point p.
        ref: [K] finite reference point.

    Returns:
        [K] float64, g_k >= 0.
    """
    ref = _check_vector(ref, "ref")
    side = (_check_vector(point, "point", ref.numel()) - ref).clamp_min(0.0)  # [K]
    K = side.numel()
    return torch.stack([torch.cat([side[:k], side[k + 1 :]]).prod() for k in range(K)])
