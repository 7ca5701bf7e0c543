"""What a method may read at one training step (``AdvantageInputs``)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from lightning_paretopo.types import RolloutBatch


@dataclass
class AdvantageInputs:
    """What a method may read at one step.

    Attributes:
        R: [N, K] normalised rewards.
        R_raw: [N, K] raw rewards (OTC reads correctness from the accuracy column).
        batch: the rollout (action_mask, tool calls, group size).
        masks: [N, K, T] attribution masks of the objectives.
        weights: [K] the weights this method scalarises with at this step.
        accuracy_index: column of the accuracy objective, or None.
        hv_contribution: the latest validation point's HV contribution (hv_meta).
        gated: each objective's ``gated`` flag (S5), in column order; () = none gated.
        smoothed_dhv: paretopo_paper's smoothed HV gain of the batch point (>= 0).
    """

    R: Tensor
    R_raw: Tensor
    batch: RolloutBatch
    masks: Tensor
    weights: Tensor
    accuracy_index: int | None
    hv_contribution: float = 0.0
    gated: tuple[bool, ...] = ()
    smoothed_dhv: float = 0.0
