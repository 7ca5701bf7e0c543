"""No silent no-op training: real training steps on the random tiny policy, whose accuracy and
tool efficiency are constant (it never answers and never calls), log every advantage 0, warn
once after ``zero_advantage_patience`` steps and say so again in the run summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lightning import seed_everything

from lightning_paretopo.callbacks import RunSummary
from lightning_paretopo.rewards import Accuracy, RewardHeads, ToolEfficiency

from .conftest import MemoryLogger, make_data, make_module, make_trainer

WARNING = "every advantage has been 0"


def test_constant_rewards_are_logged_and_warned_once(tiny_policy: Path, tmp_path: Path, caplog):
    seed_everything(0)
    constant = RewardHeads([Accuracy(), ToolEfficiency(budget=2)])
    module = make_module(tiny_policy, objectives=constant, zero_advantage_patience=2)
    summary = RunSummary(dirpath=str(tmp_path), evaluate_start=False)
    trainer = make_trainer(tmp_path, max_steps=3, callbacks=[summary])
    with caplog.at_level(logging.WARNING):
        trainer.fit(module, make_data(tmp_path))
    logger: MemoryLogger = trainer.logger
    for step in range(3):
        metrics = dict(logger.history)[step]
        assert metrics["train/zero_advantage_groups"] == 1.0
        assert metrics["train/answered"] == 0.0 and metrics["train/called"] == 0.0
        assert metrics["train/advantage_abs"] == 0.0
    warned = [r for r in caplog.records if r.getMessage().startswith(WARNING)]
    assert len(warned) == 1 and "global steps 0-1" in warned[0].getMessage()
    saved = json.loads((tmp_path / "summary.json").read_text())["zero_advantage"]
    assert saved["stretches"] == [[0, 2, 3]]
    assert saved["warning"].startswith("3 training steps with every advantage 0")
    report = [r.getMessage() for r in caplog.records if "summary:" in r.getMessage()]
    assert len(report) == 1 and "WARNING: 3 training steps" in report[0]


def test_varied_rewards_do_not_warn(tiny_policy: Path, tmp_path: Path, caplog) -> None:
    seed_everything(0)
    module = make_module(tiny_policy, zero_advantage_patience=1)  # the digit share varies
    summary = RunSummary(dirpath=str(tmp_path), evaluate_start=False)
    trainer = make_trainer(tmp_path, max_steps=2, callbacks=[summary])
    with caplog.at_level(logging.WARNING):
        trainer.fit(module, make_data(tmp_path))
    assert trainer.logger.last("train/zero_advantage_groups") < 1.0
    assert not [r for r in caplog.records if WARNING in r.getMessage()]
    assert json.loads((tmp_path / "summary.json").read_text())["zero_advantage"] is None
