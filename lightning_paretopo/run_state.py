"""``RunState``: what a ParetoPO run carries from step to step, and through a resume. One owner.

Contract. The module holds one ``RunState``; everything else (``callbacks.StageSwitch``,
``callbacks.FrontLogger``, ``callbacks.RunSummary``, the plots) reads it and never keeps a copy:

- the stage-1 state: ``hv_weights`` (``pareto.HypervolumeWeights``: EMA point, archive, weights)
  and ``meta_gain`` (``paretopo_paper``'s smoothed HV gain);
- the stage: ``stage`` (1 or 2), ``switch_step`` (the global step of the switch, 0 for a method
  that starts in stage 2, None before) and ``frozen_weights`` (w* [K], None before);
- ``train_history``: one record per optimizer step, ``{"step", "hv", "weights"}``: the training
  archive HV after that many steps and the weights the step trained with (the HV at the start of
  training is recorded as the first step's record, weights the stage-1 ones). The stage switch's
  plateau rule and panels (b) and (c) of ``fronts.png`` read it;
- the validation archive and records: ``val_archive``, ``val_history`` (one record per
  validation), ``hv_contribution`` (the newest validation point's HV contribution).

``state_dict`` holds plain types only (``torch.load(weights_only=True)``). ``load_state_dict``
also takes a checkpoint written before this class existed, whose training history lived in the
callbacks (``StageSwitch``: ``hv_history``, ``FrontLogger``: ``train_history``): pass their
states as ``legacy_callbacks``.

Deliberately not done: no decision here (``callbacks.StageSwitch`` decides when, the method
what the stages mean), no logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.args import Stage1Args
from lightning_paretopo.pareto import HypervolumeWeights, ParetoArchive
from lightning_paretopo.pareto.meta_reward import SmoothedHVGain


class RunState:
    """The stage, w*, the stage-1 state and the training and validation records of one run.

    Args:
        K: number of objectives.
        stage1: the stage-1 settings (``Stage1Args``).
        start_stage: 1, or 2 for a method that starts in stage 2 (``Method.start_stage``;
            the module then calls ``switch(0, its stage-1 weights)`` at once).
    """

    def __init__(self, K: int, stage1: Stage1Args, start_stage: int) -> None:
        self.hv_weights = HypervolumeWeights(
            K, stage1.alpha, stage1.eta, stage1.w_min, stage1.update_every,
            init_weights=stage1.init_weights, anchor=stage1.anchor,
        )  # fmt: skip
        self.meta_gain = SmoothedHVGain(K, stage1.meta_gamma)
        self.stage = start_stage
        self.switch_step: int | None = None
        self.frozen_weights: Tensor | None = None
        self.train_history: list[dict[str, Any]] = []
        self.val_archive = ParetoArchive(ref=torch.zeros(K, dtype=torch.float64))
        self.val_history: list[dict[str, Any]] = []
        self.hv_contribution = 0.0

    def switch(self, step: int, weights: Tensor) -> bool:
        """Freeze w* = ``weights`` [K] and enter stage 2 at ``step``; False when already there."""
        if self.stage == 2 and self.switch_step is not None:
            return False
        self.frozen_weights = weights.clone()
        self.stage, self.switch_step = 2, int(step)
        return True

    def record_train(self, step: int, weights: Tensor) -> bool:
        """Record the training HV after ``step`` optimizer steps and the weights [K] the step
        trained with; False (nothing recorded) when ``step`` is not past the newest record."""
        if self.train_history and self.train_history[-1]["step"] >= step:
            return False
        hv = float(self.hv_weights.hypervolume)
        self.train_history.append({"step": int(step), "hv": hv, "weights": weights.tolist()})
        return True

    def state_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "switch_step": self.switch_step,
            "frozen_weights": self.frozen_weights,
            "hv_weights": self.hv_weights.state_dict(),
            "meta_gain": self.meta_gain.state_dict(),
            "train_history": [dict(r) for r in self.train_history],
            "val_archive": self.val_archive.state_dict(),
            "val_history": self.val_history,
            "hv_contribution": self.hv_contribution,
        }

    def load_state_dict(
        self, state: Mapping[str, Any], legacy_callbacks: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        self.stage, self.switch_step = state["stage"], state["switch_step"]
        self.frozen_weights = state["frozen_weights"]
        self.hv_weights.load_state_dict(state["hv_weights"])
        if "meta_gain" in state:  # checkpoints before ALGORITHM.md v2 lack it
            self.meta_gain.load_state_dict(state["meta_gain"])
        self.val_archive.load_state_dict(state["val_archive"])
        self.val_history = list(state["val_history"])
        self.hv_contribution = state["hv_contribution"]
        if "train_history" in state:
            self.train_history = [dict(r) for r in state["train_history"]]
        else:
            self.train_history = legacy_train_history(legacy_callbacks)


def legacy_train_history(callback_states: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The training history of a checkpoint from before ``RunState``: ``FrontLogger``'s
    ``train_history`` records, with ``StageSwitch``'s ``hv_history`` entries (step 0 included)
    for the steps it lacks (weights then unknown: the nearest later record's)."""
    records: dict[int, dict[str, Any]] = {}
    hv_only: dict[int, float] = {}
    for state in callback_states:
        for r in state.get("train_history", []):
            records[int(r["step"])] = dict(r)
        for step, hv in state.get("hv_history", []):
            hv_only[int(step)] = float(hv)
    for step, hv in hv_only.items():
        records.setdefault(step, {"step": step, "hv": hv, "weights": None})
    ordered = [records[s] for s in sorted(records)]
    later = None
    for r in reversed(ordered):
        r["weights"] = r["weights"] if r["weights"] is not None else later
        later = r["weights"]
    return ordered
