"""HypervolumeWeights (stage 1) and nan_mean_point: hand trajectories, edge cases, state."""

import io
import logging

import pytest
import torch

from lightning_paretopo.pareto import HypervolumeWeights, hypervolume, nan_mean_point

NAN = float("nan")


def t(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_nan_mean_point() -> None:
    R = torch.tensor([[1.0, NAN, NAN], [0.0, NAN, 0.5], [0.5, NAN, 1.0]])
    p = nan_mean_point(R)
    assert p.dtype == torch.float64 and p.shape == (3,)
    assert p[0] == 0.5 and torch.isnan(p[1]) and p[2] == 0.75
    with pytest.raises(ValueError, match="R_norm"):
        nan_mean_point(torch.ones(3))


def test_two_step_hand_trajectory_with_clamp() -> None:
    hw = HypervolumeWeights(2, alpha=0.5, eta=0.5, w_min=0.4)
    # step 1: p = (0.4, 0.8) (initialised to the first batch point); alone in the archive,
    # g = (0.8, 0.4) (the slab lengths), w = 0.5 (1/2, 1/2) + 0.5 (2/3, 1/3) = (7/12, 5/12)
    w1 = hw.step(t(0.4, 0.8))
    assert hw.ema_point.tolist() == [0.4, 0.8]
    assert hw.last_gradient.tolist() == pytest.approx([0.8, 0.4], abs=1e-9)
    assert w1.tolist() == pytest.approx([7 / 12, 5 / 12], abs=1e-12)
    assert hw.hypervolume == pytest.approx(0.32, abs=1e-12)
    # step 2: p = 0.5 (0.4, 0.8) + 0.5 (0.8, 0) = (0.6, 0.4): archive {(0.4, 0.8), (0.6, 0.4)},
    # HV 0.32 + 0.2 * 0.4 = 0.4; g = (0.4 - 0, 0.6 - 0.4) = (0.4, 0.2);
    # w = 0.5 (7/12, 5/12) + 0.5 (2/3, 1/3) = (0.625, 0.375) -> clamp (0.625, 0.4) / 1.025
    w2 = hw.step(t(0.8, 0.0))
    assert hw.ema_point.tolist() == pytest.approx([0.6, 0.4], abs=1e-15)
    assert len(hw.archive) == 2 and hw.hypervolume == pytest.approx(0.4, abs=1e-12)
    assert hw.last_gradient.tolist() == pytest.approx([0.4, 0.2], abs=1e-9)
    assert w2.tolist() == pytest.approx([25 / 41, 16 / 41], abs=1e-9)
    assert float(w2.sum()) == pytest.approx(1.0, abs=1e-15)
    assert hw.step_count == 2


def test_default_ema_rate_and_nan_objectives_keep_their_value() -> None:
    hw = HypervolumeWeights(2)  # alpha = 0.3
    hw.step(t(0.2, 0.6))
    hw.step(t(0.5, NAN))
    assert hw.ema_point.tolist() == pytest.approx([0.7 * 0.2 + 0.3 * 0.5, 0.6], abs=1e-15)


def test_objective_not_seen_yet_defers_archive_and_update(caplog) -> None:
    hw = HypervolumeWeights(2, alpha=0.5, eta=0.5)
    with caplog.at_level(logging.WARNING, logger="lightning_paretopo.pareto.weights"):
        w = hw.step(t(0.5, NAN))
        hw.step(t(0.3, NAN))
    assert w.tolist() == [0.5, 0.5] and len(hw.archive) == 0 and hw.last_gradient is None
    assert len(caplog.records) == 1 and "[1]" in caplog.records[0].getMessage()
    assert hw.ema_point[0] == 0.4 and torch.isnan(hw.ema_point[1])
    hw.step(t(NAN, 0.4))  # objective 1 starts at its first value
    assert hw.ema_point.tolist() == [0.4, 0.4] and len(hw.archive) == 1
    assert hw.last_gradient.tolist() == pytest.approx([0.4, 0.4], abs=1e-9)


def test_zero_gradient_keeps_weights() -> None:
    hw = HypervolumeWeights(2, init_weights=t(0.8, 0.2))
    w = hw.step(t(0.0, 0.0))  # on the ref in both objectives: no slab has volume
    assert hw.last_gradient.tolist() == [0.0, 0.0]
    assert w.tolist() == [0.8, 0.2] and hw.hypervolume == 0.0


def test_update_every_two() -> None:
    hw = HypervolumeWeights(2, alpha=0.5, eta=0.5, update_every=2)
    assert hw.step(t(0.4, 0.8)).tolist() == [0.5, 0.5]
    assert hw.last_gradient is None and len(hw.archive) == 1  # the archive still updates
    w = hw.step(t(0.8, 0.0))  # same state as step 2 above: g = (0.4, 0.2)
    assert w.tolist() == pytest.approx([7 / 12, 5 / 12], abs=1e-9)
    assert hw.step(t(0.9, 0.9)).tolist() == w.tolist()  # step 3: no update


def test_eta_zero_freezes_weights() -> None:
    hw = HypervolumeWeights(3, eta=0.0, w_min=0.0, init_weights=t(0.6, 0.4, 0.0))
    for p in (t(0.1, 0.5, 0.9), t(0.9, 0.2, 0.3)):
        assert hw.step(p).tolist() == pytest.approx([0.6, 0.4, 0.0], abs=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"eta": -0.1}, "eta"),
        ({"eta": 1.1}, "eta"),
        ({"w_min": 0.6}, "w_min"),
        ({"w_min": -0.1}, "w_min"),
        ({"update_every": 0}, "update_every"),
        ({"delta": 0.0}, "delta"),
        ({"ref": t(0.0, 0.0, 0.0)}, "ref"),
        ({"init_weights": t(0.5, 0.6)}, "init_weights"),
        ({"init_weights": t(1.2, -0.2)}, "init_weights"),
        ({"init_weights": t(1.0)}, "init_weights"),
        ({"num_objectives": 0}, "num_objectives"),
    ],
)
def test_constructor_validation_names_the_argument(kwargs: dict, field: str) -> None:
    args = {"num_objectives": 2, **kwargs}
    with pytest.raises(ValueError, match=field):
        HypervolumeWeights(**args)


def test_step_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="batch_point"):
        HypervolumeWeights(2).step(t(0.1, 0.2, 0.3))


def _checkpoint(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_round_trip_continues_bit_identically() -> None:
    gen = torch.Generator().manual_seed(7)
    hw = HypervolumeWeights(3, alpha=0.4, eta=0.3, update_every=2)
    for _ in range(5):
        hw.step(torch.rand(3, generator=gen, dtype=torch.float64))
    restored = HypervolumeWeights(3, alpha=0.4, eta=0.3, update_every=2)
    restored.load_state_dict(_checkpoint(hw.state_dict()))
    for _ in range(6):
        p = torch.rand(3, generator=gen, dtype=torch.float64) * 1.2
        assert torch.equal(hw.step(p), restored.step(p))
        assert torch.equal(hw.ema_point, restored.ema_point)
        assert torch.equal(hw.last_gradient, restored.last_gradient)
        assert torch.equal(hw.archive.points, restored.archive.points)
        assert hw.hypervolume == restored.hypervolume and hw.step_count == restored.step_count
    assert hw.hypervolume == pytest.approx(hypervolume(hw.archive.points, torch.zeros(3)))
    with pytest.raises(ValueError, match="objectives"):
        HypervolumeWeights(2).load_state_dict(hw.state_dict())
