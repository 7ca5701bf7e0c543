"""Methods: which advantage signal each method of ALGORITHM.md trains on.

    catalog.py   Method (one declaration per method) and METHODS, get_method
    inputs.py    AdvantageInputs (what a method may read at one step)
    stage2.py    stage 2 for any method that has one: compared vectors (S5), score (S6),
                 diagnostics

``method_advantages(args, stage, x)`` maps (method, stage, rewards, rollout) to token
advantages [N, T]; it is a pure function, so every baseline runs through the same rollout,
reward and loss code. Stage 2 (``Method.has_stage2``, when the module is in stage 2) compares
the vectors of the resolved dominance, scores them, and routes credit (S4) through the
attribution masks when ``method.stage2.credit``; elsewhere a_it = A_i on every sampled token.

Not done here: weights, archive, stage, the smoothed HV gain (the module), the loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from lightning_paretopo.advantages import token_advantages
from lightning_paretopo.methods.catalog import METHODS, Method, get_method
from lightning_paretopo.methods.inputs import AdvantageInputs
from lightning_paretopo.methods.stage2 import compared_vectors, stage2_advantages, stage2_report

if TYPE_CHECKING:
    from lightning_paretopo.args import MethodArgs


def in_stage2(method: str, stage: int) -> bool:
    """True where the step's advantages are stage 2's: a method with a stage 2, in stage 2 (a
    method that starts there, stage2_only, is always in it)."""
    declared = get_method(method)
    return declared.has_stage2 and (stage == 2 or declared.start_stage == 2)


def trajectory_advantages(args: MethodArgs, stage: int, x: AdvantageInputs) -> Tensor:
    """[N] trajectory advantages A_i of the configured method at this stage."""
    method = get_method(args.name)
    if in_stage2(args.name, stage):
        dominance, score = method.stage2_options(args)
        return stage2_advantages(score, args.stage2, x, compared_vectors(dominance, x))
    if method.stage1 is None:
        raise ValueError(f"method {args.name!r} has no stage 1 (stage {stage} asked)")
    return method.stage1(args, x)


def method_advantages(args: MethodArgs, stage: int, x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    """Trajectory and token advantages for one step.

    Returns:
        (A [N], a [N, T]) in float32: a_it = A_i sum_k beta_ik M_k(i, t) in stage 2 with credit
        on, else A_i on every sampled token.
    """
    A = trajectory_advantages(args, stage, x)  # [N]
    credit = in_stage2(args.name, stage) and args.stage2.credit
    compared = None
    if credit:
        dominance = get_method(args.name).stage2_options(args)[0]
        compared = compared_vectors(dominance, x).to(A.dtype)  # [N, K]
    G, action_mask = x.batch.group_size, x.batch.action_mask
    a = token_advantages(A, x.R.to(A.dtype), G, x.masks, credit, action_mask, compared)
    return A.float(), a.float()  # [N], [N, T]


def method_report(args: MethodArgs, stage: int, x: AdvantageInputs) -> dict[str, float]:
    """The stage-2 diagnostics when this step is stage 2's, else {}."""
    if not in_stage2(args.name, stage):
        return {}
    return stage2_report(get_method(args.name).stage2_options(args)[0], x)


__all__ = [
    "METHODS",
    "AdvantageInputs",
    "Method",
    "get_method",
    "in_stage2",
    "method_advantages",
    "method_report",
    "trajectory_advantages",
]
