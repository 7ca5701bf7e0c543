"""Pinned values for the GDPO, OTC-GRPO and hv_meta baselines."""

import math

import pytest
import torch

from lightning_paretopo.advantages import (
    gdpo_advantages,
    hv_meta_advantages,
    hv_meta_multiplier,
    otc_advantages,
    otc_reward,
    scalarized_advantages,
)

NAN = math.nan


def test_gdpo_zscores_each_objective_then_sums() -> None:
    R = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    A = gdpo_advantages(R, [0.5, 0.5], group_size=3, eps=0.0)
    # Each column is {1, 1, 0} up to order: mean 2/3, unbiased std sqrt(1/3).
    hi, lo = (1 / 3) / math.sqrt(1 / 3), (-2 / 3) / math.sqrt(1 / 3)
    expected = [0.5 * (hi + lo), 0.5 * (lo + hi), hi]
    assert A.tolist() == pytest.approx(expected, rel=1e-6)


def test_gdpo_differs_from_scalarized_on_unequal_spreads() -> None:
    # Objective 1 varies by 0.1 only; GDPO's per-objective z-score lets it weigh as much as 0.
    R = torch.tensor([[1.0, 0.4], [0.0, 0.5]])
    A = gdpo_advantages(R, [0.5, 0.5], group_size=2, eps=0.0)
    assert A.tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert scalarized_advantages(R, [0.5, 0.5], group_size=2)[0].item() > 0.7


def test_gdpo_tied_objective_and_nan_objective() -> None:
    # Objective 1 equal across the group -> z = 0; objective 2 NaN -> weight renormalised away.
    R = torch.tensor([[1.0, 0.7, NAN], [0.0, 0.7, NAN]])
    A = gdpo_advantages(R, [0.25, 0.25, 0.5], group_size=2, eps=0.0)
    z = 0.5 / math.sqrt(0.5)
    assert A.tolist() == pytest.approx([0.5 * z, -0.5 * z])


def test_gdpo_rejects_nan_in_part_of_a_group() -> None:
    R = torch.tensor([[1.0, NAN], [0.0, 0.5]])
    with pytest.raises(ValueError, match="NaN in some rows"):
        gdpo_advantages(R, [0.5, 0.5], group_size=2)


def test_otc_reward_table() -> None:
    correct = torch.tensor([1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    calls = torch.tensor([2, 4, 0, 1, 0, 3, 0, 2, 1, 3, 0, 5])
    r = otc_reward(correct, calls, group_size=3, c=1.0)
    # Group 0: n = 2. m = 2 -> f = 2 -> sin(pi/2) = 1; m = 4 -> f = 8/3 -> sin(2pi/3).
    assert r[:3].tolist() == pytest.approx([1.0, math.sqrt(3) / 2, 0.0])
    # Group 1: n = 0 (row 4). m = 1 -> cos(pi/3); m = 0 -> 1; m = 3 -> cos(3pi/7).
    assert r[3:6].tolist() == pytest.approx([0.5, 1.0, math.cos(3 * math.pi / 7)])
    # Group 2: nobody correct -> r = 0 everywhere. Group 3: n = m = 0 -> 1; incorrect -> 0.
    assert r[6:].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def test_otc_reward_uses_c_in_the_cos_branch() -> None:
    r = otc_reward(torch.tensor([1, 1, 0]), torch.tensor([0, 2, 1]), group_size=3, c=2.0)
    assert r.tolist() == pytest.approx([1.0, math.cos(2 * math.pi / 6), 0.0])


def test_otc_advantages_pinned() -> None:
    A = otc_advantages(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 3, 0, 2]), group_size=2)
    r = math.sin((2 * 3 / 4) * math.pi / 2)  # n = 1, m = 3: f = 6/4
    std = math.sqrt((1 - r) ** 2 / 2)
    d = (1 - r) / 2
    assert A.tolist() == pytest.approx([d / (std + 1e-6), -d / (std + 1e-6), 0.0, 0.0], rel=1e-5)


def test_otc_validates() -> None:
    with pytest.raises(ValueError, match="c must be > 0"):
        otc_reward(torch.tensor([1, 0]), torch.tensor([0, 0]), group_size=2, c=0.0)
    with pytest.raises(ValueError, match="non-negative integers"):
        otc_reward(torch.tensor([1, 0]), torch.tensor([-1, 0]), group_size=2)
    with pytest.raises(ValueError, match="bool or 0/1"):
        otc_reward(torch.tensor([2, 0]), torch.tensor([1, 0]), group_size=2)


def test_hv_meta_multiplier_values() -> None:
    assert hv_meta_multiplier(0.0) == 0.5
    assert hv_meta_multiplier(1.0) == pytest.approx(0.5 + 1.5 * 0.7615941559557649)
    with pytest.raises(ValueError, match="hv_contribution"):
        hv_meta_multiplier(-0.1)
    with pytest.raises(ValueError, match="hv_contribution"):
        hv_meta_multiplier(math.inf)


def test_hv_meta_multiplier_cancels_under_group_scaling() -> None:
    R = torch.tensor([[1.0, 0.5], [0.0, 0.25], [1.0, 0.0], [0.5, 1.0]], dtype=torch.float64)
    w = [0.6, 0.4]
    plain = scalarized_advantages(R, w, group_size=4, eps=0.0)
    for contribution in (0.0, 0.3, 2.0):
        meta = hv_meta_advantages(R, w, group_size=4, hv_contribution=contribution, eps=0.0)
        assert torch.allclose(meta, plain, rtol=1e-12, atol=0.0)
    # With scale="none" it does not cancel: it multiplies the centred scores.
    m = hv_meta_multiplier(2.0)
    none = hv_meta_advantages(R, w, group_size=4, hv_contribution=2.0, scale="none")
    assert torch.allclose(none, m * scalarized_advantages(R, w, group_size=4, scale="none"))
    assert not torch.allclose(none, scalarized_advantages(R, w, group_size=4, scale="none"))
