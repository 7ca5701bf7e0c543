"""ParetoArchive: add / dominated removal / duplicates / cached HV / state round trip."""

import io

import pytest
import torch

import lightning_paretopo.pareto.archive as archive_module
from lightning_paretopo.pareto import ParetoArchive, hypervolume


def t(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("incremental", [True, False])
def test_add_keeps_the_non_dominated_set_in_order(incremental: bool) -> None:
    arc = ParetoArchive(incremental=incremental)
    assert len(arc) == 0 and arc.hypervolume() == 0.0
    assert arc.add(t([1, 3]))
    assert torch.equal(arc.ref, torch.zeros(2, dtype=torch.float64))  # ref=None -> zeros(K)
    assert arc.add(t([3, 1]))
    assert arc.hypervolume() == pytest.approx(5.0, abs=1e-12)
    assert not arc.add(t([1, 1]))  # dominated
    assert not arc.add(t([3, 1]))  # duplicate, kept once
    assert not arc.add(t(1, 3))  # a single point [K] is accepted too
    assert arc.hypervolume() == pytest.approx(5.0, abs=1e-12)
    assert arc.add(t([2, 2], [2, 2]))  # duplicated within the batch: added once
    assert arc.points.tolist() == [[1, 3], [3, 1], [2, 2]]
    assert arc.hypervolume() == pytest.approx(6.0, abs=1e-12)
    assert arc.add(t([0.5, 4], [3, 3]))  # (3, 3) removes all three; (0.5, 4) stays
    assert arc.points.tolist() == [[0.5, 4], [3, 3]]
    assert len(arc) == 2
    assert arc.hypervolume() == pytest.approx(0.5 * 4 + 2.5 * 3, abs=1e-12)
    assert arc.hypervolume() == pytest.approx(hypervolume(arc.points, arc.ref), rel=1e-12)


def test_points_below_ref_are_kept_but_add_no_volume() -> None:
    arc = ParetoArchive(ref=t(0.5, 0.5))
    assert arc.add(t([2, 0.5]))  # non-dominated, but on the ref in y
    assert arc.hypervolume() == 0.0
    assert arc.add(t([1, 1]))
    assert len(arc) == 2 and arc.hypervolume() == pytest.approx(0.25, abs=1e-12)


def test_contribution() -> None:
    arc = ParetoArchive(ref=t(0, 0))
    assert arc.contribution(t(2, 3)) == pytest.approx(6.0, abs=1e-12)  # empty archive
    arc.add(t([1, 3], [3, 1]))
    assert arc.contribution(t(2, 2)) == pytest.approx(1.0, abs=1e-12)
    assert arc.contribution(t(0.5, 0.5)) == 0.0
    assert arc.contribution(t(1, 3)) == 0.0
    assert len(arc) == 2  # contribution does not add
    with pytest.raises(ValueError, match="one point"):
        arc.contribution(t([2, 2], [2, 2]))


def test_hypervolume_is_cached_until_the_archive_changes(monkeypatch) -> None:
    calls = []

    def counting_hypervolume(Y, ref):
        calls.append(Y.shape[0])
        return hypervolume(Y, ref)

    monkeypatch.setattr(archive_module, "hypervolume", counting_hypervolume)
    arc = ParetoArchive(incremental=False)
    arc.add(t([1, 3], [3, 1]))
    assert arc.hypervolume() == pytest.approx(5.0) and arc.hypervolume() == pytest.approx(5.0)
    assert calls == [2]
    arc.add(t([1, 1]))  # no change: still cached
    arc.hypervolume()
    assert calls == [2]
    arc.add(t([2, 2]))
    assert arc.hypervolume() == pytest.approx(6.0)
    assert calls == [2, 3]


def test_bad_input() -> None:
    arc = ParetoArchive()
    arc.add(t([1, 2]))
    with pytest.raises(ValueError, match="objectives"):
        arc.add(t([1, 2, 3]))
    with pytest.raises(ValueError, match="finite"):
        arc.add(t([1, float("nan")]))
    with pytest.raises(ValueError, match="ref"):
        ParetoArchive(ref=t(0, float("nan")))
    with pytest.raises(ValueError, match="ref"):
        ParetoArchive(ref=t([0, 0]))


def _round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("incremental", [True, False])
def test_state_round_trip_continues_identically(incremental: bool) -> None:
    gen = torch.Generator().manual_seed(3)
    arc = ParetoArchive(ref=t(0.1, 0, 0.2), incremental=incremental)
    for _ in range(5):
        arc.add(torch.rand(4, 3, generator=gen, dtype=torch.float64))
    arc.hypervolume()
    restored = ParetoArchive(incremental=incremental)
    restored.load_state_dict(_round_trip(arc.state_dict()))
    assert torch.equal(restored.points, arc.points) and torch.equal(restored.ref, arc.ref)
    assert restored.hypervolume() == arc.hypervolume()
    for _ in range(5):
        batch = torch.rand(3, 3, generator=gen, dtype=torch.float64)
        assert arc.add(batch) == restored.add(batch)
        assert restored.hypervolume() == arc.hypervolume()  # bit-identical
    assert torch.equal(restored.points, arc.points)
    with pytest.raises(ValueError, match="ref"):
        ParetoArchive(ref=t(0, 0, 0)).load_state_dict(arc.state_dict())
