"""The training step logs ``train/checker_timeouts``: math-verify comparisons in this process
that exhausted their CPU budget (``rewards.symbolic.timeout_count``)."""

from __future__ import annotations

from pathlib import Path

import torch
from lightning import seed_everything

from lightning_paretopo import module as module_file
from lightning_paretopo.args import PolicyArgs, RolloutArgs
from lightning_paretopo.data import ArithDataModule
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.rewards import RewardHeads
from tests.helpers import make_trainer


def test_training_step_logs_the_checker_timeouts(tiny_policy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(module_file, "timeout_count", lambda: 7)
    seed_everything(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        module = ParetoPOModule(
            policy=PolicyArgs(name_or_path=str(tiny_policy)),
            objectives=RewardHeads.from_names(["accuracy", "tool_efficiency"]),
            rollout=RolloutArgs(group_size=2, max_turns=1, max_new_tokens=8, max_total_tokens=64),
        )
        data = ArithDataModule(batch_size=2, train_size=8, val_size=2, test_size=2,
                               data_dir=str(tmp_path / "data"))  # fmt: skip
        trainer = make_trainer(tmp_path, max_steps=1, limit_val_batches=0)
        trainer.fit(module, data)
    finally:
        torch.set_num_threads(threads)
    assert float(trainer.callback_metrics["train/checker_timeouts"]) == 7.0
