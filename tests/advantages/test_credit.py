"""Pinned values for action-level credit: attribution masks, shares beta, token advantages."""

import math

import pytest
import torch

from lightning_paretopo.advantages import (
    attribution_masks,
    credit_shares,
    normalize_rewards,
    pareto_rank_advantages,
    token_advantages,
)
from lightning_paretopo.types import RolloutBatch, TurnSpan

NAN = math.nan
BUDGET = 4  # tool budget M of tool_efficiency = 1 - min(m, M) / M


def _worked_example_batch() -> RolloutBatch:
    """Row i: 3 tool-calling turns then an answer; row j: 1 tool-calling turn then an answer.

    Tokens: P = prompt, a = action (sampled), O = observation (tool output), _ = padding.
    i: P P a a O a O a a O a a      j: P P a a O O a a a _ _ _
    """
    action_mask = torch.tensor(
        [[0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0]]
    )
    turns = [
        [TurnSpan(2, 4, "calculator"), TurnSpan(5, 6, "calculator"), TurnSpan(7, 9, "calculator")]
        + [TurnSpan(10, 12, None)],
        [TurnSpan(2, 4, "calculator"), TurnSpan(6, 9, None)],
    ]
    return RolloutBatch(
        input_ids=torch.zeros(2, 12, dtype=torch.long),
        attention_mask=torch.ones(2, 12, dtype=torch.long),
        action_mask=action_mask,
        prompt_lengths=torch.tensor([2, 2]),
        turns=turns,
        tool_calls=torch.tensor([3, 1]),
        invalid_calls=torch.tensor([0, 0]),
        truncated=torch.tensor([False, False]),
        texts=["i", "j"],
        group_size=2,
    )


def test_worked_example_blame_lands_on_tool_turns_only() -> None:
    batch = _worked_example_batch()
    accuracy = torch.tensor([1.0, 1.0])  # both correct
    efficiency = 1 - batch.tool_calls.clamp(max=BUDGET) / BUDGET  # (0.25, 0.75)
    R = normalize_rewards(torch.stack([accuracy, efficiency], 1), [0.0, 0.0], [1.0, 1.0])
    A = pareto_rank_advantages(R, 2, frozen_weights=[0.5, 0.5])
    masks = attribution_masks(batch.action_mask, batch.tool_turn_mask(), ["all", "tool_turns"])
    a = token_advantages(A, R, 2, masks)

    A_i = -0.5 / (math.sqrt(0.5) + 1e-6)  # fronts (1, 0) -> u = (-1, 0)
    assert credit_shares(A, R, 2, masks).tolist() == [[0.0, 1.0], [0.0, 1.0]]
    tool_i = [2, 3, 5, 7, 8]
    assert a[0, tool_i].tolist() == pytest.approx([A_i] * 5, rel=1e-6)
    assert (a[0, tool_i] == A[0]).all() and A[0] < 0  # beta sums to 1 exactly there
    others = [t for t in range(12) if t not in tool_i]
    assert a[0, others].tolist() == [0.0] * 7  # the answer turn (10, 11) is not blamed
    # j wins only on efficiency: its credit lands on its one tool-calling turn.
    assert a[1, [2, 3]].tolist() == pytest.approx([-A_i, -A_i], rel=1e-6)
    assert a[1, 4:].tolist() == [0.0] * 8
    # Credit off: the whole trajectory carries A_i.
    flat = token_advantages(A, R, 2, masks, credit=False)
    assert torch.equal(flat, A.unsqueeze(1) * batch.action_mask)


def test_attribution_masks_pinned() -> None:
    action_mask = torch.tensor([[0, 1, 1, 1, 0]])
    tool_mask = torch.tensor([[1, 1, 0, 0, 0]])  # token 0 is not sampled: dropped
    M = attribution_masks(action_mask, tool_mask, ["all", "tool_turns", "all"])
    assert M.tolist() == [[[0, 1, 1, 1, 0], [0, 1, 0, 0, 0], [0, 1, 1, 1, 0]]]
    with pytest.raises(ValueError, match="attributions"):
        attribution_masks(action_mask, tool_mask, ["all", "tool"])
    with pytest.raises(ValueError, match="tool_turn_mask"):
        attribution_masks(action_mask, tool_mask[:, :3], ["all"])


def test_credit_shares_pinned() -> None:
    # Group 0 (K = 3: accuracy, tool_efficiency, format): x dominates y and z.
    # Group 1: three identical rows, format not applicable (NaN).
    R = torch.tensor([[1.0, 0.5, 1.0], [0.0, 0.25, 1.0], [1.0, 0.25, 0.0]] + [[1.0, 0.5, NAN]] * 3)
    A = torch.tensor([0.8, -0.4, -0.4, 0.0, 0.0, 0.0])
    masks = torch.ones(6, 3, 4)
    masks[2, 1] = 0  # z issued no tool turn: tool_efficiency not eligible there
    masks[5] = 0  # a row without any sampled token
    beta = credit_shares(A, R, 3, masks)
    # x (A >= 0): mean gap over {y, z} of (1, .25, 0) and (0, .25, 1) = (.5, .25, .5).
    assert beta[0].tolist() == pytest.approx([0.4, 0.2, 0.4])
    # y (A < 0): dominated by x only, falls short by (1, .25, 0).
    assert beta[1].tolist() == pytest.approx([0.8, 0.2, 0.0])
    # z: short by (0, .25, 1) but tool_efficiency is not eligible -> (0, 0, 1).
    assert beta[2].tolist() == [0.0, 0.0, 1.0]
    # Tied group: nobody to compare with -> uniform over the applicable objectives.
    assert beta[3].tolist() == beta[4].tolist() == [0.5, 0.5, 0.0]
    assert beta[5].tolist() == [0.0, 0.0, 0.0]


def test_all_zero_gaps_fall_back_to_uniform() -> None:
    # y is dominated by x only on objective 1, whose mask is empty in y -> uniform over {0, 2}.
    R = torch.tensor([[0.5, 1.0, 0.5], [0.5, 0.0, 0.5]])
    masks = torch.ones(2, 3, 3)
    masks[1, 1] = 0
    beta = credit_shares(torch.tensor([1.0, -1.0]), R, 2, masks)
    assert beta[1].tolist() == [0.5, 0.0, 0.5]


def test_token_advantages_mixes_masks_by_beta() -> None:
    R = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # both dominate row 2
    masks = torch.tensor([[[1, 1, 1, 0], [0, 1, 0, 0]]] * 3)
    A = torch.tensor([0.5, 0.5, -1.0])
    a = token_advantages(A, R, 3, masks)
    # Row 2 falls short of rows 0 and 1 by (1, 0) and (0, 1): beta = (.5, .5).
    assert a[2].tolist() == [-0.5, -1.0, -0.5, 0.0]
    # Row 0 dominates row 2 by (1, 0): beta = (1, 0).
    assert a[0].tolist() == [0.5, 0.5, 0.5, 0.0]
    assert a[1].tolist() == [0.0, 0.5, 0.0, 0.0]


def test_credit_validates_shapes() -> None:
    R = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="masks must be"):
        credit_shares(torch.zeros(2), R, 2, torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="A must be"):
        token_advantages(torch.zeros(3), R, 2, torch.ones(2, 2, 4))
    with pytest.raises(ValueError, match="action_mask must be"):
        token_advantages(torch.zeros(2), R, 2, torch.ones(2, 2, 4), False, torch.ones(2, 3))
