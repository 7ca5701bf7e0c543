"""The smoothed HV gain of ``paretopo_paper``'s stage 1 ("The paper's reported formulas").

``SmoothedHVGain.step(p_t)`` for the batch point p_t (not the EMA point):

1. dHV_t = HV(B u {p_t}) - HV(B) against the shared archive B of batch points (exact,
   ``ParetoArchive.contribution``; >= 0, and 0 when B weakly dominates p_t);
2. dHVbar_t = gamma * dHVbar_{t-1} + (1 - gamma) * dHV_t, from dHVbar_0 = 0;
3. B = nondominated(B u {p_t}): new non-dominated points enter B.

The meta-reward r_pareto = 0.5 + 1.5 tanh(dHVbar_t) is ``advantages.hv_meta_multiplier``.
A batch point with a NaN objective (one that applied to no row) counts as dHV_t = 0 and does
not enter B. ``state_dict`` holds B and dHVbar, so a resumed run continues exactly.

Not done here: the advantages (``methods/``); this archive is separate from stage 1's
archive of EMA points (``weights.py``), which every method keeps for train/hv and the switch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.pareto.archive import ParetoArchive


class SmoothedHVGain:
    """dHVbar over the archive of batch points (module docstring).

    Args:
        num_objectives: K.
        gamma: smoothing, in [0, 1).
    """

    def __init__(self, num_objectives: int, gamma: float = 0.9) -> None:
        if not 0 <= gamma < 1:
            raise ValueError(f"gamma must be in [0, 1); got {gamma}")
        self.gamma = float(gamma)
        self.archive = ParetoArchive(ref=torch.zeros(num_objectives, dtype=torch.float64))
        self.value = 0.0
        self.last_gain = 0.0

    def step(self, batch_point: Tensor) -> float:
        """Take p_t [K]; return the new dHVbar_t."""
        p = batch_point.detach().to("cpu", torch.float64)  # [K]
        gain = 0.0
        if bool(torch.isfinite(p).all()):
            gain = max(0.0, self.archive.contribution(p))
            self.archive.add(p)
        self.last_gain = gain
        self.value = self.gamma * self.value + (1.0 - self.gamma) * gain
        return self.value

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain Python only."""
        return {
            "value": self.value,
            "last_gain": self.last_gain,
            "archive": self.archive.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value = float(state["value"])
        self.last_gain = float(state["last_gain"])
        self.archive.load_state_dict(state["archive"])
