"""``methods.method_advantages`` for every method on one hand-built group (pinned values).

The group (G = 4, K = 2: accuracy, tool_efficiency with budget M = 4, T = 12 tokens):

    row  correct  calls  r~ = (acc, te)   sampled tokens (turns)          tool-turn tokens
    0    yes      1      (1, 0.75)        call [2,4), answer [6,8)        2, 3
    1    yes      3      (1, 0.25)        calls [2,4) [5,7) [8,10), [11]  2, 3, 5, 6, 8, 9
    2    no       0      (0, 1.00)        answer [2,6)                    none
    3    yes      2      (1, 0.50)        calls [2,4) [5,7), answer [8,10) 2, 3, 5, 6

Every expectation below is computed by hand in the comments (unbiased group std, eps = 1e-6,
hence the 1e-5 tolerances).
"""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.advantages import (
    attribution_masks,
    otc_advantages,
    pareto_rank_advantages,
    scalarized_advantages,
    token_advantages,
)
from lightning_paretopo.args import MethodArgs, Stage1Args, Stage2Args
from lightning_paretopo.methods import AdvantageInputs, in_stage2, method_advantages
from lightning_paretopo.types import RolloutBatch, TurnSpan

T = 12
G = 4
TURNS = [
    [TurnSpan(2, 4, "calculator"), TurnSpan(6, 8)],
    [TurnSpan(2, 4, "calculator"), TurnSpan(5, 7, "calculator"), TurnSpan(8, 10, "calculator")]
    + [TurnSpan(11, 12)],
    [TurnSpan(2, 6)],
    [TurnSpan(2, 4, "calculator"), TurnSpan(5, 7, "calculator"), TurnSpan(8, 10)],
]
CALLS = [1, 3, 0, 2]
R_GROUP = torch.tensor(
    [[1.0, 0.75], [1.0, 0.25], [0.0, 1.0], [1.0, 0.5]], dtype=torch.float64
)  # [N, K]
W = torch.tensor([0.5, 0.5], dtype=torch.float64)  # [K]
ACCURACY = 0  # column of the accuracy objective

# Stage 1 with w = (0.5, 0.5): s = (0.875, 0.625, 0.5, 0.75), mean 0.6875, deviations
# (3, -1, -3, 1) * 0.0625, unbiased std = 0.0625 * sqrt(20 / 3), so A = (3, -1, -3, 1) * c
# with c = 1 / sqrt(20 / 3) = sqrt(0.15).
C = math.sqrt(0.15)
A_SCALARIZED = [3 * C, -C, -3 * C, C]


def rollout_batch() -> RolloutBatch:
    """The hand-built group above (prompt = tokens 0..1, observations between turns)."""
    action_mask = torch.zeros(G, T, dtype=torch.long)
    for n, spans in enumerate(TURNS):
        for span in spans:
            action_mask[n, span.start : span.end] = 1
    return RolloutBatch(
        input_ids=torch.arange(G * T).reshape(G, T) % 7 + 4,
        attention_mask=torch.ones(G, T, dtype=torch.long),
        action_mask=action_mask,
        prompt_lengths=torch.full((G,), 2, dtype=torch.long),
        turns=TURNS,
        tool_calls=torch.tensor(CALLS),
        invalid_calls=torch.zeros(G, dtype=torch.long),
        truncated=torch.zeros(G, dtype=torch.bool),
        texts=["row0", "row1", "row2", "row3"],
        group_size=G,
    )


def inputs(
    R: torch.Tensor = R_GROUP,
    R_raw: torch.Tensor | None = None,
    weights: torch.Tensor = W,
    accuracy_index: int | None = ACCURACY,
    hv_contribution: float = 0.0,
    gated: tuple[bool, ...] = (False, True),  # tool_efficiency is gated (ALGORITHM.md S5)
    smoothed_dhv: float = 0.0,
) -> AdvantageInputs:
    batch = rollout_batch()
    masks = attribution_masks(batch.action_mask, batch.tool_turn_mask(), ["all", "tool_turns"])
    return AdvantageInputs(
        R,
        R.clone() if R_raw is None else R_raw,
        batch,
        masks,  # [N, K, T]
        weights,
        accuracy_index,
        hv_contribution,
        gated,
        smoothed_dhv,
    )


def uniform_tokens(A: list[float] | torch.Tensor) -> torch.Tensor:
    """[N, T] a_it = A_i on every sampled token, 0 elsewhere."""
    A = torch.as_tensor(A, dtype=torch.float32)
    return A[:, None] * rollout_batch().action_mask.float()


def test_the_hand_built_masks() -> None:
    batch = rollout_batch()
    tool = batch.tool_turn_mask()
    assert tool[0].nonzero().flatten().tolist() == [2, 3]
    assert tool[1].nonzero().flatten().tolist() == [2, 3, 5, 6, 8, 9]
    assert tool[2].sum() == 0
    assert batch.action_mask[2].nonzero().flatten().tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize("name", ["paretopo", "stage1_only", "static"])
def test_scalarized_methods_equal_scalarized_advantages(name: str) -> None:
    A, a = method_advantages(MethodArgs(name=name), 1, inputs())
    assert A.dtype == a.dtype == torch.float32
    torch.testing.assert_close(A, scalarized_advantages(R_GROUP, W, G).float())
    torch.testing.assert_close(
        A, torch.tensor(A_SCALARIZED, dtype=torch.float32), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(a, uniform_tokens(A))  # uniform tokens: no credit in stage 1


def test_stage1_scale_none_only_centres() -> None:
    args = MethodArgs(name="paretopo", stage1=Stage1Args(scale="none"))
    A, _ = method_advantages(args, 1, inputs())
    expected = torch.tensor([3, -1, -3, 1], dtype=torch.float32) * 0.0625
    torch.testing.assert_close(A, expected, atol=1e-7, rtol=0)


def test_paretopo_stage1_follows_the_given_weights() -> None:
    # w = (1, 0): accuracy alone, s = (1, 1, 0, 1) -> A = (0.5, 0.5, -1.5, 0.5) (std 0.5).
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    A, _ = method_advantages(MethodArgs(name="paretopo"), 1, inputs(weights=w))
    torch.testing.assert_close(A, torch.tensor([0.5, 0.5, -1.5, 0.5]), atol=1e-5, rtol=0)


V1 = Stage2Args(dominance="pareto", score="rank")  # version 1: plain Pareto fronts, ranks

# Stage 2 (v1, dominance pareto): fronts f = (0, 2, 0, 1) (row 0 dominates rows 1 and 3, row 3 dominates row 1, row 2
# is non-dominated). Utility tie-break under w* = (0.5, 0.5) in front 0: row 0 (0.875) above
# row 2 (0.5), so b = (1/2, 0, 0, 0). u = -f + 0.5 b = (0.25, -2, 0, -1); mean -0.6875,
# deviations (0.9375, -1.3125, 0.6875, -0.3125), unbiased std sqrt(3.171875 / 3).
STD_U = math.sqrt(3.171875 / 3)
A_RANK = [0.9375 / STD_U, -1.3125 / STD_U, 0.6875 / STD_U, -0.3125 / STD_U]


@pytest.mark.parametrize("name", ["paretopo", "stage2_only"])
def test_pareto_rank_with_action_level_credit(name: str) -> None:
    A, a = method_advantages(MethodArgs(name=name, stage2=V1), 2, inputs())
    torch.testing.assert_close(A, torch.tensor(A_RANK, dtype=torch.float32), atol=1e-5, rtol=0)
    torch.testing.assert_close(A, pareto_rank_advantages(R_GROUP, G, W, "utility", 0.5).float())
    x = inputs()
    credit = token_advantages(A.double(), R_GROUP, G, x.masks, True, x.batch.action_mask)
    torch.testing.assert_close(a, credit.float())
    # Shares by hand: rows 0, 1, 3 win / fall short only on tool_efficiency, so their whole
    # advantage lands on their tool-calling turns; row 2 dominates nobody and has no tool turn,
    # so its share is all accuracy: every sampled token.
    tool = x.batch.tool_turn_mask().float()
    expected = torch.stack(
        [A[0] * tool[0], A[1] * tool[1], A[2] * x.batch.action_mask[2].float(), A[3] * tool[3]]
    )
    torch.testing.assert_close(a, expected)
    assert a[0, 6:8].abs().sum() == 0  # row 0's correct answer turn is not credited


def test_stage2_without_credit_is_uniform() -> None:
    args = MethodArgs(
        name="paretopo", stage2=Stage2Args(credit=False, dominance="pareto", score="rank")
    )
    A, a = method_advantages(args, 2, inputs())
    torch.testing.assert_close(A, torch.tensor(A_RANK, dtype=torch.float32), atol=1e-5, rtol=0)
    torch.testing.assert_close(a, uniform_tokens(A))


def test_stage_only_matters_for_paretopo() -> None:
    assert in_stage2("paretopo", 2) and in_stage2("stage2_only", 1)
    assert not in_stage2("paretopo", 1) and not in_stage2("stage1_only", 2)
    A1, _ = method_advantages(MethodArgs(name="static"), 1, inputs())
    A2, _ = method_advantages(MethodArgs(name="static"), 2, inputs())
    torch.testing.assert_close(A1, A2)


def test_accuracy_only_ignores_tool_efficiency() -> None:
    # accuracy (1, 1, 0, 1): mean 0.75, unbiased std 0.5 -> A = (0.5, 0.5, -1.5, 0.5).
    expected = torch.tensor([0.5, 0.5, -1.5, 0.5])
    A, a = method_advantages(MethodArgs(name="accuracy_only"), 1, inputs())
    torch.testing.assert_close(A, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(a, uniform_tokens(A))
    other = R_GROUP.clone()
    other[:, 1] = torch.tensor([0.0, 1.0, 0.3, 0.9])  # tool efficiency reversed: no effect
    B, _ = method_advantages(MethodArgs(name="accuracy_only"), 1, inputs(R=other))
    torch.testing.assert_close(B, A)


def test_accuracy_only_reads_the_accuracy_column() -> None:
    swapped = R_GROUP[:, [1, 0]]  # accuracy is now column 1
    A, _ = method_advantages(
        MethodArgs(name="accuracy_only"), 1, inputs(R=swapped, accuracy_index=1)
    )
    torch.testing.assert_close(A, torch.tensor([0.5, 0.5, -1.5, 0.5]), atol=1e-5, rtol=0)


def test_gdpo_weighted_sum_of_per_objective_zscores() -> None:
    # z(acc) = (0.5, 0.5, -1.5, 0.5); te deviations (0.125, -0.375, 0.375, -0.125) with
    # unbiased std sqrt(0.3125 / 3); A = 0.5 z(acc) + 0.5 z(te).
    std_te = math.sqrt(0.3125 / 3)
    z_te = [0.125 / std_te, -0.375 / std_te, 0.375 / std_te, -0.125 / std_te]
    expected = torch.tensor(
        [0.5 * (za + zt) for za, zt in zip([0.5, 0.5, -1.5, 0.5], z_te, strict=True)]
    )
    A, a = method_advantages(MethodArgs(name="gdpo"), 1, inputs())
    torch.testing.assert_close(A, expected.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(a, uniform_tokens(A))


def test_otc_reads_correctness_from_raw_rewards() -> None:
    # n = 1 (fewest calls among correct rows); f = 2nm / (m + n) = (1, 1.5, -, 4/3);
    # r = sin(f pi / 2) * correct = (1, sin(0.75 pi), 0, sin(2 pi / 3)).
    r = torch.tensor([1.0, math.sin(0.75 * math.pi), 0.0, math.sin(2 * math.pi / 3)])
    expected = (r - r.mean()) / (r.std() + 1e-6)
    # The normalised matrix says "nobody is correct"; only R_raw knows the truth.
    R = R_GROUP.clone()
    R[:, ACCURACY] = 0.0
    A, a = method_advantages(MethodArgs(name="otc"), 1, inputs(R=R, R_raw=R_GROUP))
    torch.testing.assert_close(A, expected, atol=1e-5, rtol=0)
    correct = R_GROUP[:, ACCURACY] > 0.5
    torch.testing.assert_close(A, otc_advantages(correct, torch.tensor(CALLS), G).float())
    torch.testing.assert_close(a, uniform_tokens(A))


def test_otc_constant_c_reaches_the_reward() -> None:
    # Nobody correct -> r = 0 for every row whatever c: all advantages 0.
    R_raw = R_GROUP.clone()
    R_raw[:, ACCURACY] = 0.0
    A, _ = method_advantages(MethodArgs(name="otc", otc_c=3.0), 1, inputs(R_raw=R_raw))
    assert torch.equal(A, torch.zeros(G))


@pytest.mark.parametrize("contribution", [0.2, 1.5])
def test_hv_meta_scale_none_multiplies_by_the_meta_reward(contribution: float) -> None:
    multiplier = 0.5 + 1.5 * math.tanh(contribution)
    args = MethodArgs(name="hv_meta", stage1=Stage1Args(scale="none"))
    A, a = method_advantages(args, 1, inputs(hv_contribution=contribution))
    expected = multiplier * torch.tensor([3, -1, -3, 1], dtype=torch.float64) * 0.0625
    torch.testing.assert_close(A, expected.float(), atol=1e-7, rtol=0)
    torch.testing.assert_close(a, uniform_tokens(A))


def test_hv_meta_negative_contribution_counts_as_zero() -> None:
    # HV noise below 0 is clamped to 0: multiplier 0.5.
    args = MethodArgs(name="hv_meta", stage1=Stage1Args(scale="none"))
    A, _ = method_advantages(args, 1, inputs(hv_contribution=-1e-12))
    expected = 0.5 * torch.tensor([3, -1, -3, 1], dtype=torch.float32) * 0.0625
    torch.testing.assert_close(A, expected, atol=1e-7, rtol=0)


def test_hv_meta_group_scale_cancels_the_multiplier() -> None:
    args = MethodArgs(name="hv_meta")
    A, _ = method_advantages(args, 1, inputs(hv_contribution=1.0))
    torch.testing.assert_close(
        A, torch.tensor(A_SCALARIZED, dtype=torch.float32), atol=1e-5, rtol=0
    )


def test_unknown_method_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"method\.name.*'grpo'"):
        MethodArgs(name="grpo")
    args = MethodArgs()
    args.name = "grpo"  # past the dataclass check: the dispatch still refuses it
    with pytest.raises(ValueError, match=r"method\.name must be one of .*'grpo'"):
        method_advantages(args, 1, inputs())


@pytest.mark.parametrize("name", ["accuracy_only", "otc"])
def test_missing_accuracy_objective_names_it(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}.*objective named 'accuracy'"):
        method_advantages(MethodArgs(name=name), 1, inputs(accuracy_index=None))


@pytest.mark.parametrize("name", ["paretopo", "static", "gdpo", "hv_meta", "stage2_only"])
def test_methods_without_accuracy_do_not_need_it(name: str) -> None:
    args = MethodArgs(name=name, stage2=V1)  # gated dominance (v2 default) reads accuracy
    A, a = method_advantages(args, 1, inputs(accuracy_index=None))
    assert A.shape == (G,) and a.shape == (G, T)
    assert torch.isfinite(a).all()
