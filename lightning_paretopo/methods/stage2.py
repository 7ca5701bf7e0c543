"""Stage 2 of ALGORITHM.md for any method that has one: what is compared (S5), the score (S6)
and the diagnostics, given the resolved options (``Method.stage2_options``).

Contract (N = B*G rows, K objectives): ``compared_vectors`` [N, K] are r~ (``"pareto"``) or the
gated r^ (``"gated"``); ``stage2_advantages`` [N] scores them by ``"rank"`` (fronts +
tie-break under the frozen w*), ``"hv_gradient"`` (on r~, no fronts) or ``"paper"`` (the
paper's rank formula with the frozen weights); ``stage2_report`` gives
train/stage2/wrong_in_front0 and train/stage2/fronts. Credit (S4) picks its partners j by the
dominance of the same compared vectors (``advantages.token_advantages(compared=...)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from lightning_paretopo.advantages import pareto_rank_advantages
from lightning_paretopo.advantages.compare import compared_rewards, stage2_diagnostics
from lightning_paretopo.advantages.scores import hv_gradient_advantages, paper_rank_advantages
from lightning_paretopo.methods.inputs import AdvantageInputs
from lightning_paretopo.rewards.base import is_correct

if TYPE_CHECKING:
    from lightning_paretopo.args import Stage2Args


def compared_vectors(dominance: str, x: AdvantageInputs) -> Tensor:
    """[N, K] the vectors stage 2 sorts under ``dominance`` (S5)."""
    gated = x.gated or (False,) * x.R.shape[1]
    return compared_rewards(x.R, dominance, gated, x.accuracy_index)


def stage2_advantages(score: str, s2: Stage2Args, x: AdvantageInputs, compared: Tensor) -> Tensor:
    """[N] stage-2 trajectory advantages of ``score`` (S6); tie-break, tau, beta from ``s2``."""
    G = x.batch.group_size
    if score == "rank":
        return pareto_rank_advantages(compared, G, x.weights, s2.tie_break, s2.tau)
    if score == "hv_gradient":
        return hv_gradient_advantages(x.R, G)
    if score == "paper":
        return paper_rank_advantages(compared, x.R, G, x.weights, s2.paper_beta)
    raise ValueError(f"unknown stage-2 score {score!r}")


def stage2_report(dominance: str, x: AdvantageInputs) -> dict[str, float]:
    """train/stage2/wrong_in_front0 and train/stage2/fronts of this batch (ALGORITHM.md)."""
    k = x.accuracy_index
    correct = None if k is None else is_correct(x.R_raw[:, k])  # [N]
    return stage2_diagnostics(compared_vectors(dominance, x), correct, x.batch.group_size)
