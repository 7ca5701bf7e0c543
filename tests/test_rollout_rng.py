"""``RolloutRNG``: a checkpointed training stream and per-evaluation generators."""

from __future__ import annotations

import logging

import pytest
import torch

from lightning_paretopo.rollout_rng import RolloutRNG

CPU = torch.device("cpu")


def draws(generator: torch.Generator, n: int = 4) -> torch.Tensor:
    return torch.rand(n, generator=generator)


def test_training_stream_is_seeded_per_rank() -> None:
    a, b = RolloutRNG(3).train(CPU, 0), RolloutRNG(3).train(CPU, 1)
    assert torch.equal(draws(a), draws(torch.Generator().manual_seed(3)))
    assert torch.equal(draws(b), draws(torch.Generator().manual_seed(4)))


def test_training_stream_resumes_from_its_state() -> None:
    rng = RolloutRNG(0)
    draws(rng.train(CPU, 0))
    state = rng.state_dict()
    expected = draws(rng.train(CPU, 0))
    restored = RolloutRNG(0)
    restored.load_state_dict(state)
    assert restored.state_dict() is not None  # kept until first use (a checkpoint saves it)
    assert torch.equal(draws(restored.train(CPU, 0)), expected)


def test_no_state_before_the_first_draw() -> None:
    assert RolloutRNG(0).state_dict() is None


def test_state_from_another_device_type_reseeds(caplog: pytest.LogCaptureFixture) -> None:
    rng = RolloutRNG(5)
    rng.load_state_dict(("cuda", torch.Generator().get_state()))
    with caplog.at_level(logging.WARNING):
        generator = rng.train(CPU, 0)
    assert "re-seeding" in caplog.text
    assert torch.equal(draws(generator), draws(torch.Generator().manual_seed(5)))


def test_evaluation_generators_depend_on_seed_rank_and_step_only() -> None:
    rng = RolloutRNG(0)
    first = draws(rng.evaluation(CPU, 0, 10))
    draws(rng.train(CPU, 0), 100)  # training draws do not matter
    assert torch.equal(draws(rng.evaluation(CPU, 0, 10)), first)
    others = [
        rng.evaluation(CPU, 0, 11),
        rng.evaluation(CPU, 1, 10),
        RolloutRNG(1).evaluation(CPU, 0, 10),
    ]
    for generator in others:
        assert not torch.equal(draws(generator), first)


def test_evaluation_does_not_advance_the_training_stream() -> None:
    rng, reference = RolloutRNG(0), RolloutRNG(0)
    draws(rng.evaluation(CPU, 0, 0), 50)
    assert torch.equal(draws(rng.train(CPU, 0)), draws(reference.train(CPU, 0)))


def test_each_rank_picks_its_row_of_a_gathered_state() -> None:
    streams = [RolloutRNG(0).train(CPU, rank) for rank in range(2)]
    gathered = torch.stack([g.get_state() for g in streams])  # [world, S]
    expected = [draws(g) for g in streams]
    for rank in range(2):
        rng = RolloutRNG(0)
        rng.load_state_dict(("cpu", gathered), rank=rank, world_size=2)
        assert torch.equal(draws(rng.train(CPU, rank)), expected[rank])


def test_another_world_size_reseeds(caplog: pytest.LogCaptureFixture) -> None:
    gathered = torch.stack([torch.Generator().manual_seed(9).get_state()] * 2)  # [2, S]
    rng = RolloutRNG(1)
    with caplog.at_level(logging.WARNING):
        rng.load_state_dict(("cpu", gathered), rank=0, world_size=4)
    assert "saved by 2 ranks, resuming with 4" in caplog.text
    assert torch.equal(draws(rng.train(CPU, 0)), draws(torch.Generator().manual_seed(1)))
    single = RolloutRNG(1)
    single.load_state_dict(("cpu", gathered[0]), rank=1, world_size=2)
    assert torch.equal(draws(single.train(CPU, 1)), draws(torch.Generator().manual_seed(2)))
