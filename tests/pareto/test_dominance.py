"""Pinned hand-computed cases for dominance.py (property tests live in test_properties.py)."""

import math

import pytest
import torch

from lightning_paretopo.pareto import (
    crowding_distance,
    dominance_matrix,
    domination_count,
    fill_inapplicable,
    is_non_dominated,
    non_dominated_ranks,
)

NAN = float("nan")
INF = math.inf

# (1,2) and (2,1) are non-dominated; the duplicates (1,1) form front 1; (0,0) is front 2.
Y_DUP = torch.tensor([[1.0, 2.0], [2.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])


def test_dominance_matrix_with_duplicates() -> None:
    expected = torch.tensor(
        [
            [0, 0, 1, 1, 1],
            [0, 0, 1, 1, 1],
            [0, 0, 0, 0, 1],  # equal rows never dominate each other
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(dominance_matrix(Y_DUP), expected)


def test_ranks_count_and_front_with_duplicates() -> None:
    assert non_dominated_ranks(Y_DUP).tolist() == [0, 0, 1, 1, 2]
    assert domination_count(Y_DUP).tolist() == [3, 3, 1, 1, 0]
    assert is_non_dominated(Y_DUP).tolist() == [True, True, False, False, False]


def test_ranks_three_objectives_chain_and_ties() -> None:
    Y = torch.tensor([[3.0, 3, 3], [1, 1, 1], [2, 2, 2], [3, 3, 0], [2, 2, 2]])
    # (3,3,3) > (2,2,2) x2 > (1,1,1); (3,3,0) is only dominated by (3,3,3).
    assert non_dominated_ranks(Y).tolist() == [0, 2, 1, 1, 1]
    assert domination_count(Y).tolist() == [4, 0, 1, 0, 1]


def test_all_nan_column_is_ignored_per_set() -> None:
    Y = torch.tensor(
        [
            [[1.0, NAN, 2.0], [2.0, NAN, 1.0], [0.0, NAN, 0.0]],  # column 1 not applicable
            [[NAN, 1.0, 1.0], [NAN, 0.0, 1.0], [NAN, 2.0, 2.0]],  # column 0 not applicable
        ]
    )
    assert non_dominated_ranks(Y).tolist() == [[0, 0, 1], [1, 2, 0]]
    assert domination_count(Y).tolist() == [[1, 1, 0], [1, 0, 2]]
    filled = fill_inapplicable(Y)
    assert torch.equal(filled[0, :, 1], torch.zeros(3))
    assert torch.equal(filled[1, :, 0], torch.zeros(3))
    assert torch.equal(filled[0, :, 0], Y[0, :, 0])


@pytest.mark.parametrize(
    "fn",
    [fill_inapplicable, dominance_matrix, non_dominated_ranks, domination_count, crowding_distance],
)
def test_partial_nan_column_raises(fn) -> None:
    Y = torch.tensor([[1.0, NAN], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"column\(s\) \[1\]"):
        fn(Y)


def test_empty_set_has_no_ranks() -> None:
    assert non_dominated_ranks(torch.zeros(0, 2)).shape == (0,)
    assert non_dominated_ranks(torch.zeros(3, 0, 2)).shape == (3, 0)


def test_crowding_distance_front() -> None:
    Y = torch.tensor([[0.0, 4.0], [1.0, 3.0], [2.0, 2.0], [4.0, 0.0]])
    # objective 0 (range 4): row1 (2-0)/4, row2 (4-1)/4; objective 1: row1 (4-2)/4, row2 (3-0)/4
    assert crowding_distance(Y).tolist() == [INF, 1.0, 1.5, INF]


def test_crowding_distance_duplicates_and_constant_column() -> None:
    dup = torch.tensor([[0.0, 2.0], [1.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    assert crowding_distance(dup).tolist() == [INF, 1.0, 1.0, INF]
    const = torch.tensor([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0]])  # column 1 has range 0
    assert crowding_distance(const).tolist() == [INF, 1.0, INF]
    nan_col = torch.tensor([[NAN, 1.0], [NAN, 2.0], [NAN, 3.0]])
    assert crowding_distance(nan_col).tolist() == [INF, 1.0, INF]


def test_crowding_distance_two_rows_are_boundary() -> None:
    assert crowding_distance(torch.tensor([[1.0, 2.0], [2.0, 1.0]])).tolist() == [INF, INF]


def test_crowding_distance_zero_range_sets_get_zero() -> None:
    # A single row or identical rows have range 0 in every objective: nothing is crowded.
    assert crowding_distance(torch.tensor([[1.0, 2.0]])).tolist() == [0.0]
    assert crowding_distance(torch.tensor([[1.0, 2.0], [1.0, 2.0]])).tolist() == [0.0, 0.0]
    assert crowding_distance(torch.tensor([[0.0, 1.0], [1.0, 0.0]])).tolist() == [INF, INF]
