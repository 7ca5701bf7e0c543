"""Pinned hand-computed cases for hypervolume.py."""

import pytest
import torch

from lightning_paretopo.pareto import (
    hypervolume,
    hypervolume_contribution,
    hypervolume_gradient,
    project_to_front,
)

NAN = float("nan")


def t(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def zeros(K: int) -> torch.Tensor:
    return torch.zeros(K, dtype=torch.float64)


def test_hv_2d_staircase() -> None:
    # x in (0,1]: height 3, (1,2]: 2, (2,3]: 1
    assert hypervolume(t([1, 3], [2, 2], [3, 1]), zeros(2)) == pytest.approx(6.0, abs=1e-12)


def test_hv_3d_inclusion_exclusion_with_dominated_and_duplicate() -> None:
    Y = t([2, 1, 1], [1, 2, 1], [1, 1, 2])  # 3 * 2 - 3 * 1 + 1 = 4
    assert hypervolume(Y, zeros(3)) == pytest.approx(4.0, abs=1e-12)
    Y_more = torch.cat([Y, t([1, 1, 1], [2, 1, 1], [0.5, 0.5, 0.5])])
    assert hypervolume(Y_more, zeros(3)) == pytest.approx(4.0, abs=1e-12)


def test_hv_nonzero_reference() -> None:
    assert hypervolume(t([2, 3]), t(1, 1)) == pytest.approx(2.0, abs=1e-12)


def test_points_not_strictly_dominating_ref_add_nothing() -> None:
    assert hypervolume(t([-1, 5], [5, 0]), zeros(2)) == 0.0
    assert hypervolume(t([1, 1], [5, 0], [0, 7]), zeros(2)) == pytest.approx(1.0, abs=1e-12)
    assert hypervolume(t([1, 1, 1], [9, 9, -0.25]), zeros(3)) == pytest.approx(1.0, abs=1e-12)


def test_hv_empty_and_one_objective() -> None:
    assert hypervolume(torch.zeros(0, 3), zeros(3)) == 0.0
    assert hypervolume(t([0.5], [0.7]), t(0.1)) == pytest.approx(0.6, abs=1e-12)


@pytest.mark.parametrize("n", [5, 60])  # below and above the BoTorch class crossover
@pytest.mark.parametrize("K", [2, 3, 4])
def test_hv_both_botorch_paths(n: int, K: int) -> None:
    # points (i + 1, n - i, 1, ...): a staircase of area n (n + 1) / 2, extruded by 1
    Y = torch.ones(n, K, dtype=torch.float64)
    Y[:, 0] = torch.arange(1, n + 1)
    Y[:, 1] = torch.arange(n, 0, -1)
    assert hypervolume(Y, zeros(K)) == pytest.approx(n * (n + 1) / 2, rel=1e-12)


def test_hv_nan_columns() -> None:
    Y = t([1, NAN, 3], [2, NAN, 1])
    assert hypervolume(Y, zeros(3)) == pytest.approx(4.0, abs=1e-12)
    assert hypervolume(Y, t(0, NAN, 0)) == pytest.approx(4.0, abs=1e-12)  # ignored entry
    with pytest.raises(ValueError, match=r"column\(s\) \[1\]"):
        hypervolume(t([1, NAN], [2, 1]), zeros(2))
    with pytest.raises(ValueError, match="ref"):
        hypervolume(t([1, 2]), t(0, NAN))
    with pytest.raises(ValueError, match="ref"):
        hypervolume(t([1, 2]), zeros(3))
    with pytest.raises(ValueError, match="Y"):
        hypervolume(torch.ones(3), zeros(3))


def test_contribution_hand_values() -> None:
    P = t([1, 3], [3, 1])  # HV 5; adding (2, 2) gives 6
    assert hypervolume_contribution(P, t(2, 2), zeros(2)) == pytest.approx(1.0, abs=1e-12)
    assert hypervolume_contribution(P, t(1, 1), zeros(2)) == 0.0  # dominated
    assert hypervolume_contribution(P, t(1, 3), zeros(2)) == 0.0  # duplicate
    assert hypervolume_contribution(P, t(5, 0), zeros(2)) == 0.0  # not above ref
    assert hypervolume_contribution(P[:0], t(2, 2), zeros(2)) == pytest.approx(4.0, abs=1e-12)


FRONT = t([0.2, 0.9], [0.5, 0.6], [0.9, 0.1])


def test_project_to_front() -> None:
    # (0.5, 0.6) is the only point dominating (0.3, 0.5): t* = min(0.2, 0.1) = 0.1
    p = project_to_front(FRONT, t(0.3, 0.5), eps=0.01)
    assert p.tolist() == pytest.approx([0.41, 0.61], abs=1e-12)
    assert not bool(((p <= FRONT).all(-1) & (p < FRONT).any(-1)).any())
    for kept in (t(0.6, 0.6), t(0.5, 0.6), t(0.0, 0.0) + 2):  # not dominated / equal / beyond
        assert torch.equal(project_to_front(FRONT, kept), kept)
    with pytest.raises(ValueError, match="eps"):
        project_to_front(FRONT, t(0.3, 0.5), eps=0.0)


def test_gradient_2d_closed_form() -> None:
    # at (0.5, 0.6): the x-slab is uncovered above y = 0.1 (the point right of it), the
    # y-slab right of x = 0.2 (the point above it): g = (0.6 - 0.1, 0.5 - 0.2)
    g = hypervolume_gradient(FRONT, t(0.5, 0.6), zeros(2))
    assert g.dtype == torch.float64
    assert g.tolist() == pytest.approx([0.5, 0.3], abs=1e-9)


def test_gradient_of_dominated_point_uses_projection() -> None:
    # p' = (0.41, 0.61): x-slab uncovered in (0.6, 0.61], y-slab in (0.2, 0.41]
    g = hypervolume_gradient(FRONT, t(0.3, 0.5), zeros(2), eps=0.01)
    assert g.tolist() == pytest.approx([0.01, 0.21], abs=1e-9)


def test_gradient_3d_hand_case() -> None:
    p = t(0.5, 0.4, 0.2)
    assert hypervolume_gradient(torch.zeros(0, 3), p, zeros(3)).tolist() == pytest.approx(
        [0.08, 0.1, 0.2]
    )
    # (1, 0.2, 1) covers y <= 0.2 of the x-slab and y <= 0.2 of the z-slab
    g = hypervolume_gradient(t([1, 0.2, 1]), p, zeros(3))
    assert g.tolist() == pytest.approx([0.04, 0.1, 0.1], abs=1e-9)


def test_gradient_at_reference_edges() -> None:
    # (0, 0) on the ref in both objectives and not dominated: no slab has volume
    assert hypervolume_gradient(t([0, 0]), t(0, 0), zeros(2)).tolist() == [0.0, 0.0]
    # ... but a dominated one is first projected past the front, where both slabs open
    assert bool((hypervolume_gradient(FRONT, t(0, 0), zeros(2)) > 0).all())
    # on the ref in y: only the y-slab (0 < y <= delta) has volume, right of x = 0.2 is open
    g = hypervolume_gradient(t([0.2, 0.9]), t(0.5, 0.0), zeros(2))
    assert g.tolist() == pytest.approx([0.0, 0.3], abs=1e-9)


def test_gradient_matches_literal_finite_difference_4d() -> None:
    P = t([0.9, 0.2, 0.5, 0.4], [0.3, 0.8, 0.6, 0.1], [0.5, 0.5, 0.5, 0.5], [0.1, 0.1, 0.9, 0.9])
    p, ref, delta = t(0.4, 0.4, 0.4, 0.45), zeros(4), 1e-3
    g = hypervolume_gradient(P, p, ref, delta=delta)
    pp = project_to_front(P, p)
    base = hypervolume(torch.cat([P, pp[None]]), ref)
    for k in range(4):
        q = pp.clone()
        q[k] += delta
        fd = (hypervolume(torch.cat([P, q[None]]), ref) - base) / delta
        assert float(g[k]) == pytest.approx(fd, rel=1e-9, abs=1e-9)


def test_gradient_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="delta"):
        hypervolume_gradient(FRONT, t(0.5, 0.6), zeros(2), delta=0.0)
    with pytest.raises(ValueError, match="point"):
        hypervolume_gradient(FRONT, t(0.5, NAN), zeros(2))
    with pytest.raises(ValueError, match="archive"):
        hypervolume_gradient(FRONT, t(0.5, 0.6, 0.1), zeros(3))
