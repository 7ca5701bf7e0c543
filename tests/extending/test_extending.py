"""docs/extending.md's worked examples work as written: a user's reward head and a user's tool,
each in the user's own file (tests/extending/my_extensions.py) and named by import path, go
through the real RewardHeads, build_tools, construction checks and one training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.pytorch.cli import instantiate_class

from lightning_paretopo.rewards import Accuracy, RewardHeads, ToolEfficiency
from lightning_paretopo.tools import build_tools
from lightning_paretopo.tools.registry import markup_names
from tests.extending.my_extensions import DigitSum, FewerTurns
from tests.module.conftest import make_data, make_module, make_trainer
from tests.rewards.conftest import ROWS, TASKS, make_batch

HEAD = "tests.extending.my_extensions.FewerTurns"
TOOL = "tests.extending.my_extensions.DigitSum"


def test_user_head_from_its_class_path() -> None:
    # what the YAML of docs/extending.md gives jsonargparse: class_path + init_args per head
    configs = [
        {"class_path": "lightning_paretopo.rewards.Accuracy"},
        {"class_path": HEAD, "init_args": {"max_turns": 4}},
    ]
    heads = RewardHeads([instantiate_class((), c) for c in configs])
    assert heads.names == ["accuracy", "fewer_turns"] and heads.gated == [False, True]
    R_raw, _ = heads(make_batch(ROWS, group_size=2), TASKS)
    calls = torch.tensor([1, 0, 1, 2, 3, 0, 0, 0], dtype=torch.float64)  # ROWS' calls, invalid too
    assert R_raw[:, 1].tolist() == pytest.approx((1 - calls / 3).clamp(0, 1).tolist())


def test_user_tool_by_import_path() -> None:
    tools = build_tools({TOOL: {"max_digits": 5}})
    assert list(tools) == ["digitsum"] and isinstance(tools["digitsum"], DigitSum)
    assert tools["digitsum"]("12345").text == "15"
    assert not tools["digitsum"]("123456").ok
    assert markup_names([TOOL, "calculator"]) == ("digitsum", "calculator")
    with pytest.raises(ValueError, match="unknown tool 'my_pkg.NoSuchTool'.*import path"):
        build_tools({"my_pkg.NoSuchTool": {}})


def test_one_training_step_with_both(tiny_policy: Path, tmp_path: Path) -> None:
    objectives = RewardHeads([Accuracy(), ToolEfficiency(budget=2), FewerTurns(max_turns=2)])
    module = make_module(tiny_policy, objectives=objectives, tool_specs={TOOL: {}})
    with pytest.raises(ValueError, match="tool_specs: unknown tools"):
        make_module(tiny_policy, tool_specs={"my_pkg.NoSuchTool": {}})
    trainer = make_trainer(tmp_path, max_steps=1)
    trainer.fit(module, make_data(tmp_path))
    assert list(module.engine.tools) == ["digitsum"]
    assert 0.0 <= trainer.logger.last("train/reward/fewer_turns") <= 1.0
    assert module.train_history[-1]["step"] == 1 and len(module.train_history[-1]["weights"]) == 3
