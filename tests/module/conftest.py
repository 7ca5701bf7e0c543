"""Real, tiny pieces for the ``ParetoPOModule`` tests: a saved tiny policy, builders, a logger.

The policy is the project's tiny Llama (hidden 32, 2 layers) with random weights. It never
answers correctly and never calls a tool, so accuracy and tool efficiency are constant; the
``DigitShare`` objective (the share of digits in the completion) varies from row to row and
gives the policy gradient something to act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from lightning import Trainer
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from lightning_paretopo.args import LossArgs, MethodArgs, PolicyArgs, RolloutArgs, Stage1Args
from lightning_paretopo.data import ArithDataModule
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.rewards import Accuracy, RewardHead, RewardHeads, ToolEfficiency
from tests import helpers


class DigitShare(RewardHead):
    """Share of digit characters in the completion (0 for an empty one)."""

    def __init__(self) -> None:
        super().__init__("digits", lo=0.0, hi=1.0, attribution="all")

    def compute(self, batch, tasks) -> list[float]:
        return [sum(c.isdigit() for c in t) / max(len(t), 1) for t in batch.texts]


class MemoryLogger(Logger):
    """Keeps every ``log_metrics`` call: ``history`` = [(step, {name: value})]."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[int, dict[str, float]]] = []

    @property
    def name(self) -> str:
        return "memory"

    @property
    def version(self) -> int:
        return 0

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.history.append((step, {k: float(v) for k, v in metrics.items()}))

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def last(self, key: str) -> float:
        """The newest logged value of ``key``."""
        values = [m[key] for _, m in self.history if key in m]
        assert values, f"{key} was never logged; logged: {sorted(self.keys())}"
        return values[-1]

    def keys(self) -> set[str]:
        return {k for _, m in self.history for k in m}


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Every module test runs with one intra-op thread (tests/conftest.py ``one_thread``)."""


def objectives() -> RewardHeads:
    return RewardHeads([Accuracy(), ToolEfficiency(budget=2), DigitShare()])


def make_module(
    policy: Path, method: str | MethodArgs = "paretopo", lora: dict | None = None, **kwargs: Any
) -> ParetoPOModule:
    """A module with tiny rollouts (G = 2, 16 tokens per turn, 2 turns, 96 tokens in all);
    ``lora``: the policy's LoRA settings (None: full fine-tuning)."""
    kwargs.setdefault("objectives", objectives())
    kwargs.setdefault(
        "rollout",
        RolloutArgs(group_size=2, max_turns=2, max_new_tokens=16, max_total_tokens=96),
    )
    if isinstance(method, str):
        method = MethodArgs(name=method, stage1=Stage1Args(alpha=0.5))
    kwargs.setdefault("loss", LossArgs())
    kwargs.setdefault("optimizer", lambda params: torch.optim.AdamW(params, lr=1e-2))
    policy_args = PolicyArgs(name_or_path=str(policy), lora=lora)
    return ParetoPOModule(policy=policy_args, method=method, **kwargs)


def make_data(root: Path, **kwargs: Any) -> ArithDataModule:
    """Arithmetic tasks: B = 2 prompts per step, 4 validation and 4 test tasks."""
    kwargs = {"batch_size": 2, "train_size": 64, "val_size": 4, "test_size": 4} | kwargs
    return ArithDataModule(val_batch_size=4, data_dir=str(root / "data"), **kwargs)


def make_trainer(
    root: Path, max_steps: int, callbacks: list | None = None, **overrides: Any
) -> Trainer:
    """``tests.helpers.make_trainer`` that logs to a ``MemoryLogger`` and validates only when
    asked (``limit_val_batches=...``)."""
    kwargs = {"logger": MemoryLogger(), "limit_val_batches": 0, "check_val_every_n_epoch": None}
    return helpers.make_trainer(root, max_steps, callbacks, **kwargs | overrides)
