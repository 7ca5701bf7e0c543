"""Pinned values for reward normalisation, group normalisation and scalarisation."""

import math

import pytest
import torch

from lightning_paretopo.advantages import (
    group_normalize,
    normalize_rewards,
    scalarize,
    scalarized_advantages,
)

NAN = math.nan


def test_normalize_rewards_clips_and_keeps_nan() -> None:
    R_raw = torch.tensor([[5.0, 2.0], [15.0, -1.0], [10.0, NAN]])
    R = normalize_rewards(R_raw, lo=[0.0, 0.0], hi=[10.0, 4.0])
    assert R[0].tolist() == [0.5, 0.5]
    assert R[1].tolist() == [1.0, 0.0]  # clipped at both ends
    assert R[2, 0].item() == 1.0
    assert math.isnan(R[2, 1].item())


def test_normalize_rewards_rejects_bad_bounds() -> None:
    R_raw = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="hi > lo"):
        normalize_rewards(R_raw, lo=[0.0, 1.0], hi=[1.0, 1.0])
    with pytest.raises(ValueError, match="lo must have shape"):
        normalize_rewards(R_raw, lo=[0.0], hi=[1.0, 1.0])


def test_group_normalize_uses_unbiased_group_std() -> None:
    scores = torch.tensor([1.0, 2.0, 3.0, 6.0, 0.0, 1.0, 0.0, 1.0])
    A = group_normalize(scores, group_size=4, eps=0.0)
    std1 = math.sqrt(14 / 3)  # deviations -2, -1, 0, 3; Bessel: 14 / (4 - 1)
    std2 = math.sqrt(1 / 3)  # deviations +-0.5; 4 * 0.25 / 3
    expected = [
        -2 / std1,
        -1 / std1,
        0.0,
        3 / std1,
        -0.5 / std2,
        0.5 / std2,
        -0.5 / std2,
        0.5 / std2,
    ]
    assert A.tolist() == pytest.approx(expected, rel=1e-6)
    A_eps = group_normalize(scores, group_size=4)  # default eps = 1e-6 added to the std
    assert A_eps[0].item() == pytest.approx(-2 / (std1 + 1e-6), rel=1e-6)


def test_group_normalize_scale_none_only_centres() -> None:
    A = group_normalize(torch.tensor([1.0, 2.0, 6.0]), group_size=3, scale="none")
    assert A.tolist() == pytest.approx([-2.0, -1.0, 3.0])


@pytest.mark.parametrize("eps", [0.0, 1e-6])
@pytest.mark.parametrize("scale", ["group", "none"])
def test_all_equal_group_is_exactly_zero(eps: float, scale: str) -> None:
    # 0.9 * 3 / 3 != 0.9 in float32: a naive (s - mean) / (std + eps) is far from 0 here.
    scores = torch.tensor([0.9, 0.9, 0.9, 0.0, 1.0, 0.5])
    A = group_normalize(scores, group_size=3, scale=scale, eps=eps)
    assert A[:3].tolist() == [0.0, 0.0, 0.0]
    assert A[3:].abs().sum() > 0


def test_group_of_one_is_zero() -> None:
    assert group_normalize(torch.tensor([0.3, 0.7]), group_size=1).tolist() == [0.0, 0.0]


def test_group_normalize_validates() -> None:
    with pytest.raises(ValueError, match="multiple of group_size"):
        group_normalize(torch.zeros(5), group_size=2)
    with pytest.raises(ValueError, match="scale must be one of"):
        group_normalize(torch.zeros(4), group_size=2, scale="batch")
    with pytest.raises(ValueError, match="finite"):
        group_normalize(torch.tensor([0.0, NAN]), group_size=2)
    with pytest.raises(ValueError, match="group_size"):
        group_normalize(torch.zeros(4), group_size=0)


def test_scalarize_renormalises_over_applicable_objectives() -> None:
    R = torch.tensor([[1.0, 0.5, 0.0], [1.0, 0.5, NAN], [NAN, 0.25, NAN]])
    s = scalarize(R, torch.tensor([0.5, 0.3, 0.2]))
    assert s[0].item() == pytest.approx(0.5 + 0.15)
    assert s[1].item() == pytest.approx((0.5 + 0.15) / 0.8)
    assert s[2].item() == pytest.approx(0.25)


def test_scalarize_rejects_rows_without_weight() -> None:
    R = torch.tensor([[NAN, 0.5], [1.0, 0.5]])
    with pytest.raises(ValueError, match=r"rows \[0\]"):
        scalarize(R, [1.0, 0.0])  # row 0's only applicable objective has weight 0
    with pytest.raises(ValueError, match="weights must have shape"):
        scalarize(R, [1.0])
    with pytest.raises(ValueError, match="weights must be finite and >= 0"):
        scalarize(R, [-0.5, 1.5])


def test_scalarized_advantages_pinned() -> None:
    # Group 0: s = 0.8*acc + 0.2*eff = [0.9, 0.8, 0.1]; group 1: two identical rows.
    R = torch.tensor([[1.0, 0.5], [1.0, 0.0], [0.0, 0.5], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    A = scalarized_advantages(R, [0.8, 0.2], group_size=3)
    mean, std = 0.6, math.sqrt((0.09 + 0.04 + 0.25) / 2)
    assert A[:3].tolist() == pytest.approx([(s - mean) / (std + 1e-6) for s in (0.9, 0.8, 0.1)])
    assert A[3:].tolist() == [0.0, 0.0, 0.0]
