"""Hypothesis property tests of the Pareto package against brute-force references.

Values come from the grid {-0.25, 0, 0.25, ..., 1} so that ties, duplicates and points on or
below the reference point are common.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lightning_paretopo.pareto import (
    ParetoArchive,
    domination_count,
    hypervolume,
    hypervolume_contribution,
    hypervolume_gradient,
    is_non_dominated,
    non_dominated_ranks,
    project_to_front,
)

from .reference import (
    brute_force_domination_count,
    brute_force_ranks,
    dominates,
    finite_difference_gradient,
    hv_2d_sweep,
    hv_grid,
)

GRID = [-0.25 + 0.25 * i for i in range(6)]


@st.composite
def point_sets(
    draw, min_size: int = 1, max_size: int = 7, K: int | None = None
) -> list[list[float]]:
    K = K if K is not None else draw(st.integers(2, 4))
    point = st.lists(st.sampled_from(GRID), min_size=K, max_size=K)
    return draw(st.lists(point, min_size=min_size, max_size=max_size))


def as_tensor(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def exact_hv(rows, ref) -> float:
    return hv_2d_sweep(rows, ref) if len(ref) == 2 else hv_grid(rows, ref)


@settings(max_examples=80)
@given(Y=point_sets(max_size=9), data=st.data())
def test_ranks_match_brute_force_and_follow_row_order(Y, data) -> None:
    ranks = non_dominated_ranks(as_tensor(Y))
    assert ranks.tolist() == brute_force_ranks(Y)
    assert domination_count(as_tensor(Y)).tolist() == brute_force_domination_count(Y)
    assert is_non_dominated(as_tensor(Y)).tolist() == [r == 0 for r in ranks.tolist()]
    perm = data.draw(st.permutations(range(len(Y))))
    assert non_dominated_ranks(as_tensor([Y[i] for i in perm])).tolist() == [ranks[i] for i in perm]


@settings(max_examples=60)
@given(Y=point_sets(min_size=0), ref_value=st.sampled_from([-0.25, 0.0, 0.25]))
def test_hypervolume_matches_exact_reference(Y, ref_value) -> None:
    K = len(Y[0]) if Y else 3
    ref = [ref_value] * K
    got = hypervolume(as_tensor(Y).reshape(len(Y), K), as_tensor(ref))
    assert got == pytest.approx(exact_hv(Y, ref), rel=1e-9, abs=1e-12)


def test_references_agree_in_2d() -> None:
    Y = [[0.25, 1.0], [0.5, 0.5], [0.5, 0.5], [1.0, 0.25], [0.75, -0.25]]
    assert hv_2d_sweep(Y, [0, 0]) == hv_grid(Y, [0, 0]) == 0.25 + 0.125 + 0.125


@settings(max_examples=60)
@given(Y=point_sets(), data=st.data())
def test_adding_a_dominated_point_never_changes_hypervolume(Y, data) -> None:
    K = len(Y[0])
    base = data.draw(st.sampled_from(Y))
    drops = data.draw(st.lists(st.sampled_from([0.0, 0.25, 0.5]), min_size=K, max_size=K))
    worse = [v - d for v, d in zip(base, drops, strict=True)]
    ref = torch.zeros(K, dtype=torch.float64)
    before = hypervolume(as_tensor(Y), ref)
    after = hypervolume(as_tensor([*Y, worse]), ref)
    assert after == pytest.approx(before, rel=1e-12, abs=1e-15)
    assert hypervolume_contribution(as_tensor(Y), as_tensor(worse), ref) == 0.0


@settings(max_examples=60)
@given(Y=point_sets(min_size=0), data=st.data())
def test_contribution_is_the_exact_hv_difference(Y, data) -> None:
    K = len(Y[0]) if Y else 3
    x = data.draw(st.lists(st.sampled_from(GRID), min_size=K, max_size=K))
    ref = [0.0] * K
    got = hypervolume_contribution(as_tensor(Y).reshape(len(Y), K), as_tensor(x), as_tensor(ref))
    expected = exact_hv([*Y, x], ref) - exact_hv(Y, ref)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=50)
@given(Y=point_sets(min_size=0), data=st.data())
def test_gradient_equals_literal_finite_difference(Y, data) -> None:
    K = len(Y[0]) if Y else 2
    p = data.draw(st.lists(st.sampled_from(GRID), min_size=K, max_size=K))
    eps = data.draw(st.sampled_from([1e-6, 0.01]))
    A, ref, delta = as_tensor(Y).reshape(len(Y), K), torch.zeros(K, dtype=torch.float64), 1e-3
    g = hypervolume_gradient(A, as_tensor(p), ref, delta=delta, eps=eps)
    projected = project_to_front(A, as_tensor(p), eps=eps)
    assert not any(dominates(a, projected.tolist()) for a in Y)

    def hv(rows) -> float:
        return hypervolume(as_tensor(rows), ref)

    fd = finite_difference_gradient(hv, Y, projected.tolist(), delta)
    assert g.tolist() == pytest.approx(fd, rel=1e-9, abs=1e-9)
    assert bool((g >= 0).all())


@settings(max_examples=40)
@given(K=st.integers(2, 4), incremental=st.booleans(), data=st.data())
def test_archive_is_the_non_dominated_set_with_exact_hv(K, incremental, data) -> None:
    batches = data.draw(st.lists(point_sets(max_size=3, K=K), min_size=1, max_size=5))
    arc = ParetoArchive(incremental=incremental)
    seen: list[list[float]] = []
    for batch in batches:
        arc.add(as_tensor(batch))
        seen += batch
    front = {tuple(a) for a in seen if not any(dominates(b, a) for b in seen)}
    kept = [tuple(row) for row in arc.points.tolist()]
    assert len(kept) == len(set(kept)) and set(kept) == front
    assert arc.hypervolume() == pytest.approx(exact_hv(seen, [0.0] * K), rel=1e-9, abs=1e-12)
