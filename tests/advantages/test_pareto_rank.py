"""Pinned values for stage-2 Pareto-rank advantages and each within-front tie-break."""

import math

import pytest
import torch

from lightning_paretopo.advantages import pareto_rank_advantages, within_front_rank

NAN = math.nan

# a=(1, 0), b=(0, 1), c=(.5, .5), d=(.25, .25), e=c. c and e dominate d; nothing else
# dominates, so front 0 = {a, b, c, e} (size 4) and front 1 = {d}.
GROUP = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.25, 0.25], [0.5, 0.5]])
W_STAR = [0.75, 0.25]


@pytest.mark.parametrize(
    ("tie_break", "expected"),
    [
        # utility under w*: a .75, b .25, c = e .5 -> b = 3/4, 0, 1/4, 1/4; u = -f + b/2 =
        # (.375, 0, .125, -1, .125)
        ("utility", [0.841542674, 0.140257112, 0.374018966, -1.729837719, 0.374018966]),
        # crowding over front 0's distinct points: a, b boundary (inf), c = e = 2 ->
        # b = 2/4 for a and b, 0 for c and e; u = (.25, .25, 0, -1, 0)
        ("crowding", [0.675138649, 0.675138649, 0.192896757, -1.736070811, 0.192896757]),
        # domination count: c and e dominate d (1), a and b nothing -> u = (0, 0, .25, -1, .25)
        ("domination", [0.192896757, 0.192896757, 0.675138649, -1.736070811, 0.675138649]),
        ("none", [0.447212596, 0.447212596, 0.447212596, -1.788850382, 0.447212596]),
    ],
)
def test_tie_breaks_pinned(tie_break: str, expected: list[float]) -> None:
    A = pareto_rank_advantages(GROUP.double(), 5, W_STAR, tie_break=tie_break, tau=0.5)
    assert A.tolist() == pytest.approx(expected, abs=1e-8)


def test_groups_are_batched_independently() -> None:
    R = torch.cat([GROUP, torch.full((5, 2), 0.5), GROUP.flip(0)])
    A = pareto_rank_advantages(R, 5, W_STAR)
    single = pareto_rank_advantages(GROUP, 5, W_STAR)
    assert torch.equal(A[:5], single)
    assert A[5:10].tolist() == [0.0] * 5  # all tied -> exactly 0
    assert torch.equal(A[10:], single.flip(0))


def test_tau_zero_is_pure_front_rank() -> None:
    A = pareto_rank_advantages(GROUP.double(), 5, W_STAR, tie_break="utility", tau=0.0)
    none = pareto_rank_advantages(GROUP.double(), 5, W_STAR, tie_break="none")
    assert torch.equal(A, none)


def test_two_fronts_pinned_worked_example() -> None:
    # Both correct, efficiency 0.25 (3 of 4 calls) vs 0.75 (1 call): j dominates i.
    A = pareto_rank_advantages(torch.tensor([[1.0, 0.25], [1.0, 0.75]]), 2, [0.5, 0.5])
    a = 0.5 / (math.sqrt(0.5) + 1e-6)  # u = (-1, 0): deviations +-0.5, unbiased std sqrt(.5)
    assert A.tolist() == pytest.approx([-a, a], rel=1e-6)


def test_nan_objective_is_ignored() -> None:
    R = torch.cat([GROUP, torch.full((5, 1), NAN)], dim=1)
    A = pareto_rank_advantages(R, 5, [0.75, 0.25, 1.0])
    assert torch.allclose(A, pareto_rank_advantages(GROUP, 5, W_STAR))


def test_within_front_rank_ties_share_b() -> None:
    key = torch.tensor([[3.0, 1.0, 3.0, 2.0, 7.0]])
    fronts = torch.tensor([[0, 0, 0, 0, 1]])
    assert within_front_rank(key, fronts).tolist() == [[0.5, 0.0, 0.5, 0.25, 0.0]]


def test_crowding_duplicates_share_distance() -> None:
    # Front 0 = three copies of (.5, .5) plus (1, 0) and (0, 1): copies must tie.
    R = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.5, 0.5]])
    A = pareto_rank_advantages(R, 5, None, tie_break="crowding")
    assert A[0] == A[2] == A[4]
    assert A[1] == A[3] > A[0]


def test_validation() -> None:
    with pytest.raises(ValueError, match="tau must satisfy"):
        pareto_rank_advantages(GROUP, 5, W_STAR, tau=1.0)
    with pytest.raises(ValueError, match="tie_break must be one of"):
        pareto_rank_advantages(GROUP, 5, W_STAR, tie_break="random")
    with pytest.raises(ValueError, match="needs frozen_weights"):
        pareto_rank_advantages(GROUP, 5, None)
    with pytest.raises(ValueError, match="multiple of group_size"):
        pareto_rank_advantages(GROUP, 3, W_STAR)
    partial = GROUP.clone()
    partial[0, 1] = NAN
    with pytest.raises(ValueError, match="NaN in some rows"):
        pareto_rank_advantages(partial, 5, W_STAR)
