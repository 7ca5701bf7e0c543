"""ALGORITHM.md version 2 on the hand-built group of ``test_methods.py``: gated dominance (S5),
the ``hv_gradient`` and ``paper`` scores (S6), ``paretopo_paper`` and the stage-2 diagnostics.

The group (G = 4; r~ = (accuracy, tool_efficiency); tool_efficiency is gated):

    row  correct  r~            gated r^ = (acc, acc * te)
    0    yes      (1, 0.75)     (1, 0.75)
    1    yes      (1, 0.25)     (1, 0.25)
    2    no       (0, 1.00)     (0, 0)
    3    yes      (1, 0.50)     (1, 0.50)

Every expected value is computed by hand in the comments (unbiased group std, eps = 1e-6).
"""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.advantages import (
    compared_rewards,
    gate_rewards,
    hv_gradient_advantages,
    paper_rank_advantages,
    stage2_diagnostics,
    token_advantages,
)
from lightning_paretopo.args import MethodArgs, Stage1Args, Stage2Args
from lightning_paretopo.methods import in_stage2, method_advantages, method_report
from tests.methods.test_methods import R_GROUP, G, inputs, uniform_tokens

W0 = torch.tensor([0.6, 0.4], dtype=torch.float64)


def close(actual: torch.Tensor, expected: list[float], atol: float = 1e-5) -> None:
    torch.testing.assert_close(
        actual.double(), torch.tensor(expected, dtype=torch.float64), atol=atol, rtol=0
    )


# ------------------------------------------------------------------ S5: gated dominance
def test_gate_rewards_multiplies_gated_columns_by_accuracy() -> None:
    close(gate_rewards(R_GROUP, [False, True], 0), [[1, 0.75], [1, 0.25], [0, 0], [1, 0.5]])
    # The accuracy column is never gated by itself, even if flagged; NaN stays NaN.
    R = torch.tensor([[0.5, 0.5, float("nan")]], dtype=torch.float64)
    out = gate_rewards(R, [True, True, True], 0)
    assert out[0, :2].tolist() == [0.5, 0.25] and math.isnan(out[0, 2])
    assert compared_rewards(R_GROUP, "pareto", [False, True], None) is R_GROUP


def test_gated_dominance_needs_accuracy() -> None:
    with pytest.raises(ValueError, match=r"stage2\.dominance='gated'.*'accuracy'"):
        compared_rewards(R_GROUP, "gated", [False, True], None)
    with pytest.raises(ValueError, match=r"stage2\.dominance='gated'.*'accuracy'"):
        method_advantages(MethodArgs(name="stage2_only"), 2, inputs(accuracy_index=None))


# Gated fronts: row 0 dominates all, row 3 dominates rows 1 and 2, row 1 dominates row 2:
# f = (0, 2, 3, 1), one row per front, so u = -f = (0, -2, -3, -1); mean -1.5, deviations
# (1.5, -0.5, -1.5, 0.5), unbiased std sqrt(5 / 3).
A_GATED = [x / math.sqrt(5 / 3) for x in (1.5, -0.5, -1.5, 0.5)]
RANK = Stage2Args(score="rank")  # gated Pareto ranks (the spec's v2 default score)


def test_gated_rank_advantages_and_credit() -> None:
    assert MethodArgs().stage2.dominance == "gated"  # the version-2 default
    x = inputs()
    A, a = method_advantages(MethodArgs(name="stage2_only", stage2=RANK), 2, x)
    close(A, A_GATED)
    # Credit shares (partners by gated dominance, gaps on r~):
    # row 0 (A > 0) dominates 1, 2, 3: gaps (0, .5), (1, 0), (0, .25) -> mean (1/3, 1/4)
    #   -> beta = (4/7, 3/7); row 3 dominates 1, 2: (0, .25), (1, 0) -> (0.8, 0.2);
    # row 1 (A < 0) is dominated by 0, 3: shortfalls (0, .5), (0, .25) -> tool turns only;
    # row 2 (A < 0) is dominated by 0, 1, 3: shortfall on accuracy only -> every token.
    sampled, tool = x.batch.action_mask.double(), x.batch.tool_turn_mask().double()
    A64 = A.double()
    expected = torch.stack(
        [
            A64[0] * (4 / 7 * sampled[0] + 3 / 7 * tool[0]),
            A64[1] * tool[1],
            A64[2] * sampled[2],
            A64[3] * (0.8 * sampled[3] + 0.2 * tool[3]),
        ]
    )
    torch.testing.assert_close(a.double(), expected, atol=1e-6, rtol=0)


def test_an_all_wrong_group_gets_no_pressure_to_call_less() -> None:
    R = torch.tensor([[0.0, 1.0], [0.0, 0.25], [0.0, 0.5], [0.0, 0.0]], dtype=torch.float64)
    A, a = method_advantages(MethodArgs(name="stage2_only", stage2=RANK), 2, inputs(R=R))
    assert A.abs().max() == 0 and a.abs().max() == 0
    hv, _ = method_advantages(MethodArgs(name="stage2_only"), 2, inputs(R=R))  # the default
    assert hv.abs().max() == 0  # hv_gradient: g_efficiency = pbar_acc = 0
    v1 = MethodArgs(name="stage2_only", stage2=Stage2Args(dominance="pareto", score="rank"))
    assert method_advantages(v1, 2, inputs(R=R))[0][0] > 0  # v1 rewards the fewest calls


# ------------------------------------------------------------------ S6: scores
# hv_gradient: pbar = (0.75, 0.625), g = (0.625, 0.75);
# u = 0.625 (acc - 0.75) + 0.75 (te - 0.625) = (0.25, -0.125, -0.1875, 0.0625) (mean 0);
# sum of squares 0.1171875, unbiased std sqrt(0.1171875 / 3).
A_HV = [u / math.sqrt(0.1171875 / 3) for u in (0.25, -0.125, -0.1875, 0.0625)]


@pytest.mark.parametrize("dominance", ["gated", "pareto"])
def test_hv_gradient_score(dominance: str) -> None:
    close(hv_gradient_advantages(R_GROUP, G), A_HV)
    args = MethodArgs(name="paretopo", stage2=Stage2Args(score="hv_gradient", dominance=dominance))
    A, _ = method_advantages(args, 2, inputs())
    close(A, A_HV)  # the score reads r~, whatever is compared


def test_hv_gradient_all_wrong_group_and_inapplicable_objective() -> None:
    # All wrong: pbar_acc = 0 -> g_te = 0, and every (acc - pbar_acc) is 0: A = 0.
    R = torch.tensor([[0.0, 1.0], [0.0, 0.25]], dtype=torch.float64)
    assert hv_gradient_advantages(R, 2).abs().max() == 0
    # A NaN column is left out: with (acc, NaN) the score is acc - pbar_acc (g_acc = 1):
    # u = (0.5, -0.5), unbiased std sqrt(0.5).
    R = torch.tensor([[1.0, math.nan], [0.0, math.nan]], dtype=torch.float64)
    a = 0.5 / (math.sqrt(0.5) + 1e-6)
    close(hv_gradient_advantages(R, 2), [a, -a])


# paper (plain Pareto): fronts (0, 2, 0, 1) -> rho = (1, 3, 1, 2), N_rank = 3, base
# N_rank - rho + 1 = (3, 1, 3, 2). Utility w0 . r~ = (0.9, 0.7, 0.4, 0.8); rank 1 holds rows 0
# and 2 -> rhat (1, 0); rows 1 and 3 are alone -> 0.5. A = (3.5, 1, 2.5, 2); mean 2.25,
# deviations (1.25, -1.25, 0.25, -0.25), unbiased std sqrt(3.25 / 3).
A_PAPER = [d / math.sqrt(3.25 / 3) for d in (1.25, -1.25, 0.25, -0.25)]


def test_paper_score() -> None:
    close(paper_rank_advantages(R_GROUP, R_GROUP, G, W0, 1.0), A_PAPER)
    # beta = 0: the ranks alone, (3, 1, 3, 2) -> deviations (0.75, -1.25, 0.75, -0.25).
    std = math.sqrt((0.5625 * 2 + 1.5625 + 0.0625) / 3)
    close(
        paper_rank_advantages(R_GROUP, R_GROUP, G, W0, 0.0),
        [0.75 / std, -1.25 / std, 0.75 / std, -0.25 / std],
    )


def test_paretopo_paper_stage2_is_the_paper_score_on_plain_fronts() -> None:
    assert in_stage2("paretopo_paper", 2) and not in_stage2("paretopo_paper", 1)
    x = inputs(weights=W0)  # tool_efficiency flagged gated: paretopo_paper ignores it
    A, a = method_advantages(MethodArgs(name="paretopo_paper", weights=[0.6, 0.4]), 2, x)
    close(A, A_PAPER)
    credit = token_advantages(A.double(), R_GROUP, G, x.masks, True, x.batch.action_mask)
    torch.testing.assert_close(a, credit.float())


@pytest.mark.parametrize("dhv", [0.0, math.atanh(0.5)])
def test_paretopo_paper_stage1_is_centred_and_scaled_by_the_meta_reward(dhv: float) -> None:
    # s = w0 . r~ = (0.9, 0.7, 0.4, 0.8), centred (0.2, 0, -0.3, 0.1), times
    # r_pareto = 0.5 + 1.5 tanh(dHVbar): 0.5 at 0, 1.25 at atanh(0.5). No std scaling.
    m = 0.5 if dhv == 0 else 1.25
    args = MethodArgs(name="paretopo_paper", stage1=Stage1Args(scale="group"))
    A, a = method_advantages(args, 1, inputs(weights=W0, smoothed_dhv=dhv))
    close(A, [0.2 * m, 0.0, -0.3 * m, 0.1 * m])
    torch.testing.assert_close(a, uniform_tokens(A))


# ------------------------------------------------------------------ diagnostics
def test_stage2_diagnostics() -> None:
    # Group 2: r~ = (0, 1), (0, .5), (1, .25), (1, .25). Plain Pareto: fronts (0, 1, 0, 0), a
    # wrong row in front 0; group 1 has fronts (0, 2, 0, 1), wrong row 2 in front 0.
    # Gated: group 1 fronts (0, 2, 3, 1); group 2 r^ = (0, 0), (0, 0), (1, .25), (1, .25):
    # fronts (1, 1, 0, 0). No wrong row in front 0.
    R = torch.cat([R_GROUP, torch.tensor([[0, 1], [0, 0.5], [1, 0.25], [1, 0.25]])])
    correct = R[:, 0] > 0.5
    plain = stage2_diagnostics(R, correct, G)
    assert plain == {"train/stage2/fronts": 2.5, "train/stage2/wrong_in_front0": 1.0}
    gated = stage2_diagnostics(gate_rewards(R, [False, True], 0), correct, G)
    assert gated == {"train/stage2/fronts": 3.0, "train/stage2/wrong_in_front0": 0.0}
    assert stage2_diagnostics(R, None, G) == {"train/stage2/fronts": 2.5}
    report = method_report(MethodArgs(name="paretopo"), 2, inputs())
    assert report == {"train/stage2/fronts": 4.0, "train/stage2/wrong_in_front0": 0.0}
    assert method_report(MethodArgs(name="paretopo"), 1, inputs()) == {}  # stage 1: none
