"""Stage 1 of ParetoPO: hypervolume-guided dynamic scalarization weights (ALGORITHM.md).

``HypervolumeWeights.step(p_t)`` runs one training step of the rule:

1. EMA policy point: p = (1 - alpha) p + alpha p_t. Initialisation: each objective's EMA
   starts at its first non-NaN batch value (not at zero, which would drag p toward the
   reference point for 1 / alpha steps). An objective whose batch value is NaN keeps its
   previous EMA value (NaN until it first applies).
2. Archive: P = nondominated(P u {p}); ``hypervolume`` is HV(P; ref) (see ``archive.py``).
3. On steps ``update_every, 2 * update_every, ...`` (``step_count`` counts every call, from
   1): g = ``hypervolume_gradient(P, p, ref, delta, eps)`` (projection S2, then the slab
   finite difference), w = (1 - eta) w + eta g / sum(g), then ``w = clamp(w, w_min)`` and
   ``w = w / sum(w)``, literally as specified: after the renormalisation a clamped entry can
   sit slightly below w_min (by the factor 1 / sum). If sum(g) = 0, w is kept.
   With ``anchor="point"`` (S7) g is ``point_hypervolume_gradient(p, ref)`` instead,
   g_k = prod_{j != k} p_j at the EMA point itself; the archive is still kept and logged.

While some objective has never had a value, p is incomplete: steps 2-3 are skipped (w stays,
a warning is logged once). Everything is float64 on the CPU; ``state_dict`` holds tensors and plain
Python, and a restored object continues bit-identically.

Not done here: scalarising rewards and advantages (``advantages.py``), the stage switch
(``callbacks/``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
from torch import Tensor

from lightning_paretopo.pareto.archive import ParetoArchive
from lightning_paretopo.pareto.hypervolume import hypervolume_gradient, point_hypervolume_gradient

Anchor = Literal["archive", "point"]
ANCHORS: tuple[str, ...] = get_args(Anchor)

log = logging.getLogger(__name__)


def nan_mean_point(R_norm: Tensor) -> Tensor:
    """Batch point p_t: the NaN-aware mean of normalised rewards over the batch.

    Args:
        R_norm: [N, K] normalised rewards, NaN where an objective does not apply.

    Returns:
        [K] float64 (CPU) column means over the non-NaN entries; NaN for a column with none.
    """
    if not isinstance(R_norm, Tensor) or R_norm.dim() != 2:
        raise ValueError(
            f"R_norm must be a 2-D tensor [N, K]; got {getattr(R_norm, 'shape', R_norm)}"
        )
    return torch.nanmean(R_norm.detach().to("cpu", torch.float64), dim=0)


def _check_args(K: int, alpha: float, eta: float, w_min: float, update_every: int) -> None:
    if not (isinstance(K, int) and K >= 1):
        raise ValueError(f"num_objectives must be an int >= 1; got {K!r}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha (EMA rate) must be in (0, 1]; got {alpha}")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta (weight step) must be in [0, 1]; got {eta}")
    if not (w_min >= 0.0 and w_min * K <= 1.0):
        raise ValueError(f"w_min must be >= 0 with w_min * num_objectives <= 1; got {w_min}")
    if not (isinstance(update_every, int) and update_every >= 1):
        raise ValueError(f"update_every must be an int >= 1; got {update_every!r}")


class HypervolumeWeights:
    """The stage-1 weight rule with its checkpointable state (w, p, archive, step count).

    Args:
        num_objectives: K.
        alpha: EMA rate of the policy point, in (0, 1].
        eta: weight step toward g / sum(g), in [0, 1].
        w_min: floor of each weight before renormalisation; w_min * K <= 1.
        update_every: update w every this many steps (>= 1).
        delta: finite-difference step of the HV gradient (> 0).
        ref: [K] HV reference point; None for the zero vector (normalised space).
        init_weights: [K] initial weights on the simplex; None for uniform.
        eps: projection step past the front (> 0).
        incremental_hv: passed to ``ParetoArchive(incremental=...)``.
        anchor: where g is taken (S7): ``"archive"`` (projected onto the archive) or
            ``"point"`` (at the EMA point, ignoring the archive).
    """

    def __init__(
        self,
        num_objectives: int,
        alpha: float = 0.3,
        eta: float = 0.2,
        w_min: float = 0.05,
        update_every: int = 1,
        delta: float = 1e-3,
        ref: Tensor | Sequence[float] | None = None,
        init_weights: Tensor | Sequence[float] | None = None,
        eps: float = 1e-6,
        incremental_hv: bool = True,
        anchor: str = "archive",
    ) -> None:
        K = num_objectives
        _check_args(K, alpha, eta, w_min, update_every)
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}; got {anchor!r}")
        self.anchor = anchor
        if not (delta > 0 and eps > 0):
            raise ValueError(f"delta and eps must be > 0; got delta={delta}, eps={eps}")
        ref = torch.zeros(K) if ref is None else torch.as_tensor(ref).detach()
        if ref.shape != (K,):
            raise ValueError(f"ref must have one entry per objective [{K}]; got {ref.tolist()}")
        if init_weights is None:
            init_weights = torch.full((K,), 1.0 / K, dtype=torch.float64)
        w = torch.as_tensor(init_weights).detach().to("cpu", torch.float64).clone()
        if w.shape != (K,) or not bool((w >= 0).all()) or abs(float(w.sum()) - 1.0) > 1e-6:
            raise ValueError(
                f"init_weights must be [{K}], non-negative, summing to 1; got {w.tolist()}"
            )
        self.num_objectives, self.alpha, self.eta, self.w_min = K, alpha, eta, w_min
        self.update_every, self.delta, self.eps = update_every, delta, eps
        self.archive = ParetoArchive(ref, incremental=incremental_hv)
        self._weights = w  # [K]
        self._ema = torch.full((K,), float("nan"), dtype=torch.float64)  # [K]
        self.step_count = 0
        self.last_gradient: Tensor | None = None  # [K]
        self._warned = False

    @property
    def weights(self) -> Tensor:
        """[K] float64 current weights w (a copy)."""
        return self._weights.clone()

    @property
    def ema_point(self) -> Tensor:
        """[K] float64 EMA policy point p (a copy; NaN for objectives not seen yet)."""
        return self._ema.clone()

    @property
    def hypervolume(self) -> float:
        """HV(P; ref) of the archive."""
        return self.archive.hypervolume()

    def _update_ema(self, p_t: Tensor) -> None:
        smoothed = (1.0 - self.alpha) * self._ema + self.alpha * p_t  # [K]
        fresh = torch.where(torch.isnan(self._ema), p_t, smoothed)
        self._ema = torch.where(torch.isnan(p_t), self._ema, fresh)

    def _gradient(self) -> Tensor:
        """[K] the HV-gradient direction g at the current EMA point (anchor S7)."""
        if self.anchor == "point":
            return point_hypervolume_gradient(self._ema, self.archive.ref)
        return hypervolume_gradient(
            self.archive.points, self._ema, self.archive.ref, self.delta, self.eps
        )

    def step(self, batch_point: Tensor) -> Tensor:
        """One training step of the rule (module docstring); returns the new weights [K]."""
        K = self.num_objectives
        if not isinstance(batch_point, Tensor) or batch_point.shape != (K,):
            raise ValueError(f"batch_point must be a tensor [{K}]; got {batch_point!r}")
        self._update_ema(batch_point.detach().to("cpu", torch.float64))
        self.step_count += 1
        if bool(torch.isnan(self._ema).any()):
            if not self._warned:
                missing = torch.isnan(self._ema).nonzero().flatten().tolist()
                log.warning(
                    "objective(s) %s have had no applicable value yet: the archive and the "
                    "stage-1 weights wait until every objective has been observed",
                    missing,
                )
                self._warned = True
            return self.weights
        self.archive.add(self._ema)
        if self.step_count % self.update_every == 0:
            g = self._gradient()  # [K]
            self.last_gradient = g
            total = g.sum()
            if total > 0:
                w = (1.0 - self.eta) * self._weights + self.eta * g / total
                w = w.clamp_min(self.w_min)
                self._weights = w / w.sum()
        return self.weights

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain Python only; ``load_state_dict`` restores it exactly."""
        return {
            "num_objectives": self.num_objectives,
            "weights": self._weights.clone(),
            "ema_point": self._ema.clone(),
            "step_count": self.step_count,
            "last_gradient": None if self.last_gradient is None else self.last_gradient.clone(),
            "archive": self.archive.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` saved with the same number of objectives."""
        if int(state["num_objectives"]) != self.num_objectives:
            raise ValueError(
                f"state has {state['num_objectives']} objectives; this rule has "
                f"{self.num_objectives}: build it with the checkpoint's objectives"
            )
        self._weights = state["weights"].detach().to("cpu", torch.float64).clone()
        self._ema = state["ema_point"].detach().to("cpu", torch.float64).clone()
        self.step_count = int(state["step_count"])
        last = state["last_gradient"]
        self.last_gradient = (
            None if last is None else last.detach().to("cpu", torch.float64).clone()
        )
        self.archive.load_state_dict(state["archive"])
