"""The worked examples of docs/extending.md, verbatim: a user's reward head and a user's tool.

Each lives in the user's own file; a config names it by import path, and nothing in the package
changes. tests/extending/test_extending.py runs them through the real RewardHeads, build_tools,
DataModule and module construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lightning_paretopo.rewards import RewardHead
from lightning_paretopo.tools import ToolResult
from lightning_paretopo.types import RolloutBatch, TaskExample


class FewerTurns(RewardHead):
    """1 - (policy turns - 1) / (max_turns - 1): a trajectory that answers at once scores 1."""

    def __init__(self, max_turns: int = 4, name: str = "fewer_turns"):
        super().__init__(name, lo=0.0, hi=1.0, attribution="tool_turns", gated=True)
        self.max_turns = max_turns

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> torch.Tensor:
        turns = batch.tool_calls.to(torch.float64) + 1  # [N]: each call adds a policy turn
        return (1 - (turns - 1) / (self.max_turns - 1)).clamp(0, 1)  # [N]


class DigitSum:
    """Answers <digitsum>12345</digitsum> with 15. ``name`` is the markup tag it answers."""

    name = "digitsum"

    def __init__(self, max_digits: int = 50):
        self.max_digits = max_digits

    def __call__(self, text: str) -> ToolResult:
        digits = text.strip()
        if not digits.isdigit() or len(digits) > self.max_digits:
            return ToolResult(False, f"expected up to {self.max_digits} digits", "bad_input")
        return ToolResult(True, str(sum(int(d) for d in digits)))
