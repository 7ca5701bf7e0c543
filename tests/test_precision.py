"""``precision.keep_tasks_whole``: half precision converts a batch's tensors and passes frozen
``TaskExample``s through (Lightning's own plugin raises on them)."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.plugins.precision import HalfPrecision, Precision

from lightning_paretopo.precision import keep_tasks_whole
from lightning_paretopo.types import TaskExample

TASK = TaskExample("t0", "arith", "What is 2+3?", "5", tools=("calculator",))


def test_half_precision_keeps_tasks_and_converts_tensors() -> None:
    plugin = HalfPrecision("bf16-true")
    batch = [TASK, {"x": torch.ones(2)}]
    with pytest.raises(ValueError, match="frozen dataclass"):
        plugin.convert_input(batch)
    assert keep_tasks_whole(plugin)
    task, tensors = plugin.convert_input(batch)
    assert task == TASK and tensors["x"].dtype == torch.bfloat16


def test_other_plugins_are_left_alone() -> None:
    plugin = Precision()
    assert not keep_tasks_whole(plugin) and "convert_input" not in vars(plugin)
