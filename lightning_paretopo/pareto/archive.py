"""The global Pareto archive: the non-dominated set of the points seen so far, with its HV.

Contract: ``add`` keeps exactly the non-dominated points of everything added (maximisation;
a point equal to one already kept is not added again) in insertion order. ``hypervolume()``
is HV(P; ref) and is cached: it changes only when ``add`` changes the archive.

With ``incremental=True`` (default) the cache is updated by exact contributions,
HV(P u {x}) = HV(P) + (HV(P u {x}) - HV(P)) (``hypervolume_contribution``), which costs a
small sweep instead of a full BoTorch call per change; tests pin it to BoTorch's value to 1e-9.
With ``incremental=False`` every change invalidates the cache and the next ``hypervolume()``
recomputes it with BoTorch (the literal ALGORITHM.md choice; slower for K = 3, see
docs/benchmarks.md). ``state_dict`` stores the cached value, so a restored archive continues
bit-identically.

Not done here: NaN ("not applicable") entries are rejected; a global archive compares policy
points across steps, so every objective must have a value (``HypervolumeWeights`` only adds
complete EMA points). No size cap: the archive holds EMA policy points and grows slowly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.pareto.hypervolume import hypervolume, hypervolume_contribution


class ParetoArchive:
    """Non-dominated archive of policy points with a cached hypervolume.

    Args:
        ref: [K] reference point of the hypervolume, or None for the zero vector (K is then
            taken from the first ``add``).
        incremental: update the cached HV by exact contributions (True) or recompute it with
            BoTorch on the next read after a change (False).
    """

    def __init__(self, ref: Tensor | None = None, incremental: bool = True) -> None:
        if ref is not None:
            if not isinstance(ref, Tensor) or ref.dim() != 1 or ref.numel() == 0:
                raise ValueError(f"ref must be None or a 1-D tensor [K]; got {ref!r}")
            if not bool(torch.isfinite(ref).all()):
                raise ValueError(f"ref must be finite; got {ref.tolist()}")
            ref = ref.detach().to("cpu", torch.float64).clone()
        self._ref: Tensor | None = ref  # [K]
        self.incremental = bool(incremental)
        self._points: Tensor | None = None  # [P, K]
        self._hv: float | None = 0.0

    @property
    def ref(self) -> Tensor | None:
        """[K] float64 reference point, or None before the first ``add`` when not given."""
        return None if self._ref is None else self._ref.clone()

    @property
    def num_objectives(self) -> int | None:
        return None if self._ref is None else self._ref.numel()

    @property
    def points(self) -> Tensor:
        """[P, K] float64 copy of the archive, in insertion order ([0, 0] before any add)."""
        if self._points is None:
            return torch.zeros(0, self.num_objectives or 0, dtype=torch.float64)
        return self._points.clone()

    def __len__(self) -> int:
        return 0 if self._points is None else self._points.shape[0]

    def _check(self, points: Tensor) -> Tensor:
        """[n, K] float64 finite copy of ``points``; fixes K (and a zero ref) on first use."""
        if not isinstance(points, Tensor) or points.dim() not in (1, 2):
            raise ValueError(f"points must be a tensor [n, K] (or one point [K]); got {points!r}")
        points = points.detach().to("cpu", torch.float64).reshape(-1, points.shape[-1])  # [n, K]
        K = points.shape[1]
        if self._ref is None:
            if K == 0:
                raise ValueError("points must have at least one objective (K >= 1)")
            self._ref = torch.zeros(K, dtype=torch.float64)
        if self._ref.numel() != K:
            raise ValueError(f"points have {K} objectives; the archive has {self._ref.numel()}")
        if not bool(torch.isfinite(points).all()):
            raise ValueError(
                "points must be finite: the archive compares complete policy points; drop or "
                "impute 'not applicable' (NaN) objectives before adding"
            )
        return points

    def add(self, points: Tensor) -> bool:
        """Add ``points`` [n, K] (or one point [K]); return True when the archive changed."""
        points = self._check(points)
        changed = False
        for x in points:  # [K]
            P = self._points if self._points is not None else points[:0]  # [P, K]
            if bool((x <= P).all(dim=-1).any()):
                continue  # dominated by or equal to a kept point
            if self.incremental and self._hv is not None:
                self._hv += hypervolume_contribution(P, x, self._ref)
            else:
                self._hv = None
            keep = ~((x >= P).all(dim=-1) & (x > P).any(dim=-1))  # [P]: not dominated by x
            self._points = torch.cat([P[keep], x.unsqueeze(0)])
            changed = True
        return changed

    def hypervolume(self) -> float:
        """HV(P; ref): cached; 0.0 for an empty archive."""
        if self._hv is None:
            self._hv = hypervolume(self.points, self._ref)
        return self._hv

    def contribution(self, point: Tensor) -> float:
        """HV(P u {x}) - HV(P) for ``point`` x [K] (exact; 0.0 when P weakly dominates x)."""
        x = self._check(point)
        if x.shape[0] != 1:
            raise ValueError(f"point must be one point [K]; got shape {tuple(point.shape)}")
        return hypervolume_contribution(self.points, x[0], self._ref)

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain Python only; ``load_state_dict`` restores it exactly."""
        return {
            "ref": self.ref,
            "points": None if self._points is None else self._points.clone(),
            "hypervolume": self._hv,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``; the ref, when both are set, must match this archive's."""
        ref, points = state["ref"], state["points"]
        ref = None if ref is None else ref.detach().to("cpu", torch.float64)
        if self._ref is not None and ref is not None and not torch.equal(self._ref, ref):
            raise ValueError(
                f"state ref {ref.tolist()} differs from this archive's ref {self._ref.tolist()}; "
                "build the archive with the checkpoint's ref (or ref=None)"
            )
        if ref is not None:
            self._ref = ref.clone()
        self._points = None if points is None else points.detach().to("cpu", torch.float64).clone()
        self._hv = None if state["hypervolume"] is None else float(state["hypervolume"])
