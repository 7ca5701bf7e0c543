"""Advantages for every method of ALGORITHM.md: pure functions, no state, no Lightning.

Inputs are normalised rewards ``R [N, K]`` (r~ in [0, 1], NaN = not applicable) with
N = B*G rows and each group's G rows contiguous (rows ``g*G .. g*G+G-1``). Groups are
processed as a ``[B, G, ...]`` batch; nothing crosses a group.

    group.py        normalize_rewards, group_normalize, scalarize, scalarized_advantages
                    (static weights and stage 1's dynamic weights)
    baselines.py    gdpo_advantages, otc_reward / otc_advantages, hv_meta_multiplier /
                    hv_meta_advantages
    compare.py      compared_rewards / gate_rewards (S5: what stage 2 compares),
                    stage2_diagnostics
    pareto_rank.py  pareto_rank_advantages (stage 2 score "rank": fronts + tie-break)
    scores.py       hv_gradient_advantages, paper_rank_advantages (stage 2 scores, S6)
    credit.py       attribution_masks, credit_shares, token_advantages (stage 2 S4:
                    dominance-aware action-level credit)

The exact definitions are in each module's docstring. Not done here: weights, archive and
hypervolume (``pareto/``), the loss (``losses.py``).
"""

from lightning_paretopo.advantages.baselines import (
    gdpo_advantages,
    hv_meta_advantages,
    hv_meta_multiplier,
    otc_advantages,
    otc_reward,
)
from lightning_paretopo.advantages.compare import (
    DOMINANCES,
    compared_rewards,
    gate_rewards,
    stage2_diagnostics,
)
from lightning_paretopo.advantages.credit import (
    ATTRIBUTIONS,
    attribution_masks,
    credit_shares,
    token_advantages,
)
from lightning_paretopo.advantages.group import (
    SCALES,
    group_normalize,
    normalize_rewards,
    scalarize,
    scalarized_advantages,
)
from lightning_paretopo.advantages.pareto_rank import (
    TIE_BREAKS,
    pareto_rank_advantages,
    within_front_rank,
)
from lightning_paretopo.advantages.scores import (
    SCORES,
    hv_gradient_advantages,
    paper_rank_advantages,
)

__all__ = [
    "ATTRIBUTIONS",
    "DOMINANCES",
    "SCALES",
    "SCORES",
    "TIE_BREAKS",
    "attribution_masks",
    "compared_rewards",
    "gate_rewards",
    "hv_gradient_advantages",
    "paper_rank_advantages",
    "stage2_diagnostics",
    "credit_shares",
    "gdpo_advantages",
    "group_normalize",
    "hv_meta_advantages",
    "hv_meta_multiplier",
    "normalize_rewards",
    "otc_advantages",
    "otc_reward",
    "pareto_rank_advantages",
    "scalarize",
    "scalarized_advantages",
    "token_advantages",
    "within_front_rank",
]
