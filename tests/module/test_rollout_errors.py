"""The engine's count of caught parser/tool exceptions reaches the training log."""

from __future__ import annotations

from pathlib import Path

from lightning import seed_everything

from lightning_paretopo.rollout import TaggedProtocol

from .conftest import MemoryLogger, make_data, make_module, make_trainer


def test_rollout_errors_are_logged_and_training_goes_on(
    tiny_policy: Path, tmp_path: Path, monkeypatch
) -> None:
    def broken_parse_turn(self, text: str):
        raise RecursionError("a hostile turn")

    monkeypatch.setattr(TaggedProtocol, "parse_turn", broken_parse_turn)
    seed_everything(0)
    module, data = make_module(tiny_policy), make_data(tmp_path)
    trainer = make_trainer(tmp_path, max_steps=1)
    trainer.fit(module, data)
    assert trainer.global_step == 1
    logger: MemoryLogger = trainer.logger
    _, metrics = logger.history[-1]
    rows = 4  # B = 2 prompts x G = 2 rollouts
    # every turn raised, so every turn is an invalid call and a caught error
    assert metrics["train/rollout_errors"] == metrics["train/tool_calls"] * rows > 0
    assert metrics["train/invalid_calls"] == metrics["train/tool_calls"]
