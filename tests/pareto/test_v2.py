"""ALGORITHM.md version 2 in ``pareto/``: anchor S7 (``point``) and paretopo_paper's smoothed HV
gain, with hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.pareto import HypervolumeWeights, point_hypervolume_gradient
from lightning_paretopo.pareto.meta_reward import SmoothedHVGain


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_point_gradient_is_the_product_of_the_other_coordinates() -> None:
    torch.testing.assert_close(point_hypervolume_gradient(t(0.8, 0.4), t(0, 0)), t(0.4, 0.8))
    g = point_hypervolume_gradient(t(0.6, 0.3, 0.5), t(0, 0, 0))
    torch.testing.assert_close(g, t(0.15, 0.30, 0.18))
    # Relative to ref, clamped at 0 below it.
    torch.testing.assert_close(point_hypervolume_gradient(t(0.5, 0.1), t(0.1, 0.2)), t(0, 0.4))


def test_anchors_differ_once_the_archive_holds_a_better_point() -> None:
    # Step 1, p = (0.8, 0.4) (the EMA starts at the first batch point): both anchors see
    # g = (0.4, 0.8), so w = 0.8 (1/2, 1/2) + 0.2 (1/3, 2/3) = (7/15, 8/15).
    # Step 2, batch (0.5, 0.4): p = 0.7 (0.8, 0.4) + 0.3 (0.5, 0.4) = (0.71, 0.4).
    # point: g = (0.4, 0.71); archive: (0.8, 0.4) dominates p, the projection moves p by
    # eps only, and the slab along accuracy is covered: g ~ (1e-6, 0.71) (efficiency only).
    rules = {a: HypervolumeWeights(2, anchor=a) for a in ("archive", "point")}
    for rule in rules.values():
        rule.step(t(0.8, 0.4))
        torch.testing.assert_close(rule.weights, t(7 / 15, 8 / 15))
        rule.step(t(0.5, 0.4))
    w1 = t(7 / 15, 8 / 15)
    torch.testing.assert_close(rules["point"].weights, 0.8 * w1 + 0.2 * t(0.4, 0.71) / 1.11)
    torch.testing.assert_close(
        rules["archive"].weights, 0.8 * w1 + 0.2 * t(0, 1), atol=1e-5, rtol=0
    )
    assert rules["point"].last_gradient.tolist() == pytest.approx([0.4, 0.71])


def test_unknown_anchor_names_it() -> None:
    with pytest.raises(ValueError, match="anchor"):
        HypervolumeWeights(2, anchor="origin")


def test_smoothed_hv_gain_hand_trajectory() -> None:
    gain = SmoothedHVGain(2, gamma=0.9)
    # p1 = (0.5, 0.5), B empty: dHV = 0.25 -> 0.1 * 0.25 = 0.025.
    assert gain.step(t(0.5, 0.5)) == pytest.approx(0.025)
    # p2 = (0.4, 0.4) is dominated: dHV = 0 -> 0.0225; B is unchanged.
    assert gain.step(t(0.4, 0.4)) == pytest.approx(0.0225) and len(gain.archive) == 1
    # p3 = (0.8, 0.2): 0.16 minus the overlap 0.5 * 0.2 = 0.06 -> 0.02025 + 0.006 = 0.02625.
    assert gain.step(t(0.8, 0.2)) == pytest.approx(0.02625) and len(gain.archive) == 2
    # A point with a NaN objective adds nothing and does not enter B.
    assert gain.step(t(math.nan, 0.9)) == pytest.approx(0.9 * 0.02625)
    restored = SmoothedHVGain(2, gamma=0.9)
    restored.load_state_dict(gain.state_dict())
    assert restored.step(t(0.9, 0.9)) == gain.step(t(0.9, 0.9))


def test_smoothed_hv_gain_rejects_a_bad_gamma() -> None:
    with pytest.raises(ValueError, match="gamma"):
        SmoothedHVGain(2, gamma=1.0)
