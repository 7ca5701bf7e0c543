"""The seeded, resumable, rank-sharded stream of training task indices.

Contract:
    The global stream is an endless sequence of shuffled passes ("stream epochs") over the
    ``num_tasks`` training tasks: pass ``e`` is ``epoch_permutation(num_tasks, seed, e)`` cut to
    ``usable_epoch_size`` (a multiple of the global batch ``batch_size * world_size``, so no
    optimizer step straddles two passes and the B*W prompts of a step are distinct tasks). Step
    ``s`` takes global positions ``[s*B*W, (s+1)*B*W)``; rank ``r`` takes the slice
    ``[s*B*W + r*B, s*B*W + (r+1)*B)`` of it. Ranks therefore hold whole, disjoint prompts (the G
    rollouts of a prompt are generated on the rank that holds it, so group statistics never cross
    ranks), and a run on W ranks sees, step by step, the same prompts as one rank with batch B*W.

    ``TaskStreamSampler`` yields one rank's indices from its ``position`` (prompts of this rank
    already consumed); ``TaskStreamLoader`` is a ``DataLoader`` that advances that position when
    a batch leaves the loader, i.e. when the training loop receives it, so worker prefetching does
    not count. The sampler's length is one pass (``steps_per_epoch * batch_size``); each
    ``iter()`` continues from the current position, so Lightning epochs simply cut the stream.
    ``state_dict()`` is ``{"consumed_batches", "batch_size", "world_size", "num_tasks", "seed"}``;
    loading it with another global batch B*W resumes after the same number of prompts (rounded
    up to a whole step) and warns.

Deliberately not done: weighting or curriculum over tasks; ``set_epoch`` (Lightning's epoch
counter) is ignored because the stream position alone defines the order.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator
from functools import lru_cache
from itertools import count, islice
from typing import Any

from torch.utils.data import DataLoader, DistributedSampler

from lightning_paretopo.types import TaskExample

log = logging.getLogger(__name__)

STATE_KEYS = ("consumed_batches", "batch_size", "world_size", "num_tasks", "seed")


def collate_tasks(batch: list[TaskExample]) -> list[TaskExample]:
    """The batch unchanged, as a list: tasks stay raw (the module tokenizes)."""
    return list(batch)


@lru_cache(maxsize=4)
def epoch_permutation(num_tasks: int, seed: int, epoch: int) -> tuple[int, ...]:
    """The shuffled order of ``range(num_tasks)`` in stream epoch ``epoch`` (seeded)."""
    return tuple(random.Random(f"task-stream:{seed}:{epoch}").sample(range(num_tasks), num_tasks))


def usable_epoch_size(num_tasks: int, batch_size: int, world_size: int) -> int:
    """Tasks used per stream epoch: ``num_tasks`` rounded down to a multiple of B*W."""
    global_batch = batch_size * world_size
    if num_tasks < global_batch:
        raise ValueError(
            f"batch_size * world_size = {batch_size} * {world_size} = {global_batch} exceeds the "
            f"{num_tasks} training tasks; lower batch_size or raise train_size"
        )
    return num_tasks // global_batch * global_batch


def _check_rank(rank: int, world_size: int, batch_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size); got rank={rank}, world={world_size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def global_position(position: int, rank: int, world_size: int, batch_size: int) -> int:
    """The global stream position of this rank's ``position``-th prompt."""
    step, offset = divmod(position, batch_size)
    return step * batch_size * world_size + rank * batch_size + offset


def iter_rank_indices(
    num_tasks: int, seed: int, rank: int, world_size: int, batch_size: int, start: int = 0
) -> Iterator[int]:
    """Rank ``rank``'s task indices, endlessly, from its ``start``-th prompt on."""
    _check_rank(rank, world_size, batch_size)
    epoch_size = usable_epoch_size(num_tasks, batch_size, world_size)
    for position in count(start):
        epoch, i = divmod(global_position(position, rank, world_size, batch_size), epoch_size)
        yield epoch_permutation(num_tasks, seed, epoch)[i]


def rank_indices(
    num_tasks: int,
    seed: int,
    rank: int,
    world_size: int,
    batch_size: int,
    start: int = 0,
    length: int | None = None,
) -> list[int]:
    """``length`` indices of ``iter_rank_indices`` (default: one stream epoch of this rank)."""
    if length is None:
        length = usable_epoch_size(num_tasks, batch_size, world_size) // world_size
    return list(
        islice(iter_rank_indices(num_tasks, seed, rank, world_size, batch_size, start), length)
    )


class TaskStreamSampler(DistributedSampler):
    """One rank's view of the stream, resumable through ``position``.

    It subclasses ``DistributedSampler`` only so that Lightning's ``use_distributed_sampler``
    leaves it alone: Lightning wraps any other sampler in a ``DistributedSamplerWrapper``, which
    would shard this already-sharded stream a second time. ``DistributedSampler.__init__`` is not
    called (it needs an initialised process group); its public attributes are set here.

    Args:
        num_tasks: size of the training set the indices point into.
        seed: seeds the per-epoch shuffles.
        batch_size: prompts per step on this rank (B).
        rank: this rank (``trainer.global_rank``).
        world_size: number of ranks (``trainer.world_size``).
        position: prompts of this rank already consumed (resume point).
    """

    def __init__(
        self,
        num_tasks: int,
        seed: int,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        position: int = 0,
    ) -> None:
        _check_rank(rank, world_size, batch_size)
        self.epoch_size = usable_epoch_size(num_tasks, batch_size, world_size)
        self.num_tasks, self.seed, self.batch_size = num_tasks, seed, batch_size
        self.rank, self.num_replicas = rank, world_size
        self.steps_per_epoch = self.epoch_size // (batch_size * world_size)
        self.num_samples = self.steps_per_epoch * batch_size
        self.total_size = self.epoch_size
        self.shuffle, self.drop_last, self.epoch = True, True, 0
        self.position = position

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        start = self.position
        stream = iter_rank_indices(
            self.num_tasks, self.seed, self.rank, self.num_replicas, self.batch_size, start
        )
        return islice(stream, self.num_samples)

    def set_epoch(self, epoch: int) -> None:
        """Ignored: the stream position, not Lightning's epoch, defines the order."""

    def advance(self, n: int) -> None:
        """Mark ``n`` more prompts of this rank as consumed."""
        self.position += n

    @property
    def consumed_batches(self) -> int:
        """Steps (batches of this rank) consumed so far."""
        return self.position // self.batch_size

    def state_dict(self) -> dict[str, int]:
        """The position (batches consumed per rank) with the stream's geometry."""
        return {
            "consumed_batches": self.consumed_batches,
            "batch_size": self.batch_size,
            "world_size": self.num_replicas,
            "num_tasks": self.num_tasks,
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue after the prompts ``state`` had consumed (warns if the stream changed)."""
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"data state is missing {missing}; got keys {sorted(state)}")
        if (state["num_tasks"], state["seed"]) != (self.num_tasks, self.seed):
            log.warning(
                "resuming a different train stream (checkpoint: %d tasks, seed %d; now %d, %d)",
                state["num_tasks"], state["seed"], self.num_tasks, self.seed,
            )  # fmt: skip
        consumed = state["consumed_batches"]
        saved_batch = state["batch_size"] * state["world_size"]
        global_batch = self.batch_size * self.num_replicas
        if saved_batch != global_batch:
            prompts = consumed * saved_batch
            consumed = math.ceil(prompts / global_batch)
            log.warning(
                "global batch changed from %d to %d: resuming after %d prompts at step %d; the "
                "order differs from an uninterrupted run",
                saved_batch, global_batch, prompts, consumed,
            )  # fmt: skip
        self.position = consumed * self.batch_size


class TaskStreamLoader(DataLoader):
    """A ``DataLoader`` that advances its ``TaskStreamSampler`` as batches are handed out.

    Its ``state_dict``/``load_state_dict`` (the sampler's) make Lightning treat it as a resumable
    loader: the fit loop stores them too, and does not warn about resuming mid-epoch.
    """

    def state_dict(self) -> dict[str, int]:
        return self.sampler.state_dict() if isinstance(self.sampler, TaskStreamSampler) else {}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if isinstance(self.sampler, TaskStreamSampler) and state_dict:
            self.sampler.load_state_dict(state_dict)

    def __iter__(self) -> Iterator[Any]:
        sampler = self.sampler
        for batch in super().__iter__():
            if isinstance(sampler, TaskStreamSampler):
                sampler.advance(len(batch))
            yield batch
