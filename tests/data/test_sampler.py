"""The training stream as pure functions: sharding by rank, passes, resumable position."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lightning_paretopo.data.sampler import (
    TaskStreamLoader,
    TaskStreamSampler,
    collate_tasks,
    epoch_permutation,
    global_position,
    rank_indices,
    usable_epoch_size,
)


def test_global_position_by_hand():
    # B=3, W=2: step s covers global [6s, 6s+6); rank 1 takes [6s+3, 6s+6).
    assert [global_position(p, 0, 2, 3) for p in range(6)] == [0, 1, 2, 6, 7, 8]
    assert [global_position(p, 1, 2, 3) for p in range(6)] == [3, 4, 5, 9, 10, 11]
    assert global_position(4, 1, 2, 3) == 10  # step 1, offset 1: 6 + 3 + 1


def test_usable_epoch_size_rounds_down_to_the_global_batch():
    assert usable_epoch_size(12, 3, 2) == 12
    assert usable_epoch_size(13, 3, 2) == 12
    assert usable_epoch_size(6, 3, 2) == 6
    with pytest.raises(ValueError, match="batch_size"):
        usable_epoch_size(5, 3, 2)


def test_two_ranks_are_disjoint_cover_everything_and_get_the_same_count():
    ranks = [rank_indices(12, seed=0, rank=r, world_size=2, batch_size=3) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 6
    assert set(ranks[0]).isdisjoint(ranks[1])
    assert sorted(ranks[0] + ranks[1]) == list(range(12))


def test_one_pass_is_the_seeded_permutation_and_the_next_pass_reshuffles():
    stream = rank_indices(10, seed=7, rank=0, world_size=1, batch_size=5, length=20)
    assert tuple(stream[:10]) == epoch_permutation(10, 7, 0)
    assert tuple(stream[10:]) == epoch_permutation(10, 7, 1)
    assert stream[:10] != stream[10:]
    assert sorted(stream[10:]) == list(range(10))
    assert rank_indices(10, 8, 0, 1, 5) != stream[:10]  # another seed, another order


@given(
    num_tasks=st.integers(1, 40),
    batch_size=st.integers(1, 4),
    world_size=st.integers(1, 3),
    steps=st.integers(1, 12),
)
def test_ranks_concatenated_per_step_equal_one_rank_with_the_global_batch(
    num_tasks, batch_size, world_size, steps
):
    if num_tasks < batch_size * world_size:
        return
    single = rank_indices(
        num_tasks, 1, 0, 1, batch_size * world_size, length=steps * batch_size * world_size
    )
    per_rank = [
        rank_indices(num_tasks, 1, r, world_size, batch_size, length=steps * batch_size)
        for r in range(world_size)
    ]
    for s in range(steps):
        step = [
            i for r in range(world_size) for i in per_rank[r][s * batch_size : (s + 1) * batch_size]
        ]
        assert step == single[s * batch_size * world_size : (s + 1) * batch_size * world_size]
        assert len(set(step)) == len(step)  # a step never repeats a task


def test_sampler_resumes_from_its_position():
    full = list(TaskStreamSampler(10, seed=3, batch_size=2))
    assert len(full) == 10
    resumed = TaskStreamSampler(10, seed=3, batch_size=2, position=4)
    assert list(resumed)[:6] == full[4:]


def test_loader_counts_only_batches_it_hands_out():
    sampler = TaskStreamSampler(8, seed=0, batch_size=2)
    loader = TaskStreamLoader(
        list(range(8)), batch_size=2, sampler=sampler, collate_fn=collate_tasks
    )
    assert len(loader) == 4
    it = iter(loader)
    first = [next(it), next(it)]
    assert sampler.position == 4 and sampler.consumed_batches == 2
    rest = list(iter(loader))  # a new iter() continues the stream: the rest of the pass, then more
    assert rest[0] == [epoch_permutation(8, 0, 0)[i] for i in (4, 5)]
    assert first[0] == [epoch_permutation(8, 0, 0)[i] for i in (0, 1)]
    assert sampler.position == 12


def test_loader_with_a_worker_does_not_count_prefetched_batches():
    sampler = TaskStreamSampler(16, seed=0, batch_size=2)
    loader = TaskStreamLoader(
        list(range(16)), batch_size=2, sampler=sampler, num_workers=1, collate_fn=collate_tasks
    )
    it = iter(loader)
    next(it)
    assert sampler.position == 2  # the worker has prefetched more, but only one batch was taken
    del it


def test_bad_rank_is_rejected():
    with pytest.raises(ValueError, match="rank"):
        TaskStreamSampler(10, 0, 2, rank=2, world_size=2)
