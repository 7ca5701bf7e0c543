"""Method dispatch: which advantage signal each method of ALGORITHM.md trains on.

``method_advantages`` maps (method, stage, rewards, rollout) to token advantages [N, T]; it is a
pure function, so every baseline runs through the same rollout, reward and loss code.

| method          | trajectory advantage A [N]                               | tokens         |
|-----------------|----------------------------------------------------------|----------------|
| paretopo        | stage 1: scalarised (dynamic w); stage 2: Pareto rank    | stage 2 credit |
| stage1_only     | scalarised with the dynamic weights, never switches      | uniform        |
| stage2_only     | Pareto rank from step 0, w* = the initial weights        | credit         |
| accuracy_only   | GRPO on the accuracy objective alone                     | uniform        |
| static          | scalarised with fixed weights                            | uniform        |
| gdpo            | per-objective group z-scores, weighted sum               | uniform        |
| otc             | OTC-GRPO reward r_tool * r_correct, group-normalised     | uniform        |
| hv_meta         | static weights x (0.5 + 1.5 tanh(val HV contribution))   | uniform        |
| paretopo_paper  | stage 1: w0 scalarised x (0.5 + 1.5 tanh(smoothed dHV)), | stage 2 credit |
|                 | centred, no std; stage 2: the paper's rank formula       |                |

Stage 2 (paretopo, stage2_only) compares the vectors of ``method.stage2.dominance`` (S5,
``advantages.compare``) and scores them by ``method.stage2.score`` (S6): ``rank`` (fronts +
tie-break), ``hv_gradient`` or ``paper``. ``paretopo_paper`` always uses plain Pareto fronts
and the ``paper`` score with its w0 (``method.weights``), whatever stage2.dominance/score say.
Credit (S4) picks its partners j by the dominance of the same compared vectors.

"uniform" means a_it = A_i on every sampled token. Not done here: weights, archive, stage, the
smoothed HV gain (``module.py``), the loss (``losses.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lightning_paretopo.advantages import (
    gdpo_advantages,
    hv_meta_advantages,
    otc_advantages,
    pareto_rank_advantages,
    scalarized_advantages,
    token_advantages,
)
from lightning_paretopo.advantages.compare import compared_rewards, stage2_diagnostics
from lightning_paretopo.advantages.scores import hv_gradient_advantages, paper_rank_advantages
from lightning_paretopo.args import MethodArgs
from lightning_paretopo.rewards.base import is_correct
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


def uses_pareto_rank(method: str, stage: int) -> bool:
    """True where the step's advantages are stage 2's (paretopo[_paper] stage 2, stage2_only)."""
    return method == "stage2_only" or (method in ("paretopo", "paretopo_paper") and stage == 2)


def compared_vectors(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    """[N, K] the vectors stage 2 sorts (S5); plain r~ for paretopo_paper."""
    dominance = "pareto" if args.name == "paretopo_paper" else args.stage2.dominance
    gated = x.gated or (False,) * x.R.shape[1]
    return compared_rewards(x.R, dominance, gated, x.accuracy_index)


def stage2_advantages(args: MethodArgs, x: AdvantageInputs, compared: Tensor) -> Tensor:
    """[N] stage-2 trajectory advantages of the configured score (S6)."""
    s2, G = args.stage2, x.batch.group_size
    score = "paper" if args.name == "paretopo_paper" else s2.score
    if score == "rank":
        return pareto_rank_advantages(compared, G, x.weights, s2.tie_break, s2.tau)
    if score == "hv_gradient":
        return hv_gradient_advantages(x.R, G)
    return paper_rank_advantages(compared, x.R, G, x.weights, s2.paper_beta)


def stage2_report(args: MethodArgs, x: AdvantageInputs) -> dict[str, float]:
    """train/stage2/wrong_in_front0 and train/stage2/fronts of this batch (ALGORITHM.md)."""
    k = x.accuracy_index
    correct = None if k is None else is_correct(x.R_raw[:, k])  # [N]
    return stage2_diagnostics(compared_vectors(args, x), correct, x.batch.group_size)


def _need_accuracy(method: str, accuracy_index: int | None) -> int:
    if accuracy_index is None:
        raise ValueError(f"method {method!r} needs an objective named 'accuracy' in objectives")
    return accuracy_index


def trajectory_advantages(args: MethodArgs, stage: int, x: AdvantageInputs) -> Tensor:
    """[N] trajectory advantages A_i of the configured method at this stage."""
    G, name, scale = x.batch.group_size, args.name, args.stage1.scale
    if uses_pareto_rank(name, stage):
        return stage2_advantages(args, x, compared_vectors(args, x))
    if name == "paretopo_paper":  # [ours] centred without std: a batch-wide factor survives
        return hv_meta_advantages(x.R, x.weights, G, max(0.0, x.smoothed_dhv), "none")
    if name in ("paretopo", "stage1_only", "static"):
        return scalarized_advantages(x.R, x.weights, G, scale)
    if name == "accuracy_only":
        k = _need_accuracy(name, x.accuracy_index)
        return scalarized_advantages(x.R[:, k : k + 1], torch.ones(1, dtype=x.R.dtype), G, scale)
    if name == "gdpo":
        return gdpo_advantages(x.R, x.weights, G)
    if name == "otc":
        k = _need_accuracy(name, x.accuracy_index)
        correct = is_correct(x.R_raw[:, k])  # [N]
        return otc_advantages(correct, x.batch.tool_calls, G, c=args.otc_c, scale=scale)
    if name == "hv_meta":
        contribution = max(0.0, x.hv_contribution)
        return hv_meta_advantages(x.R, x.weights, G, contribution, scale)
    raise ValueError(f"unknown method {name!r}")


def method_advantages(args: MethodArgs, stage: int, x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    """Trajectory and token advantages for one step.

    Returns:
        (A [N], a [N, T]) in float32: a_it = A_i sum_k beta_ik M_k(i, t) under Pareto ranks
        with credit on, else A_i on every sampled token.
    """
    A = trajectory_advantages(args, stage, x)  # [N]
    credit = uses_pareto_rank(args.name, stage) and args.stage2.credit
    compared = compared_vectors(args, x).to(A.dtype) if credit else None  # [N, K]
    G, action_mask = x.batch.group_size, x.batch.action_mask
    a = token_advantages(A, x.R.to(A.dtype), G, x.masks, credit, action_mask, compared)
    return A.float(), a.float()  # [N], [N, T]
