"""The tool-use warm start of a chat model: traces rendered through its own chat template.

Contract:
    - ``ChatWarmStartDataModule`` builds warm-start traces (``warmstart.traces`` for synthetic
      arithmetic, ``warmstart.chat_traces`` for GSM8K's annotated solutions) rendered with the
      chat protocol of ``chat`` (``building.chat_protocol``, the function the RL engine builds
      its protocol with) and the policy's own tokenizer, so a trace's prompt is token for token
      the prompt an RL rollout starts from, and its calls and observations are what the engine
      parses and appends. The tokenizer is the module's (``WarmStartModule.tokenizer``), taken
      at ``setup``; ``attach_tokenizer`` gives one directly (tests). ``chat`` must equal the RL
      config's ``rollout.chat``: ``chat_settings_file`` records it beside the saved policy and
      ``chat_drift`` names what an RL config changed (``building.build_engine`` warns).
    - Evaluation problems come from ``eval_split`` ("val" to choose settings, "test" to report),
      arith tiers plus, with ``gsm8k_dir``, ``n_gsm8k_eval`` GSM8K problems (tier "gsm8k"; val is
      carved out of ``train.jsonl`` by question hash as ``FileTaskDataModule`` carves it, test
      is ``test.jsonl``). GSM8K training traces come from the other ``train.jsonl`` questions.
    - Batches are raw ``list[Trace]``; ``prompt_special_tokens`` tells the module to tokenize the
      prompt without special tokens, as the engine does for the chat protocol.

Deliberately not done: no kbqa (its traces recite facts in the tagged markup of the tiny
policy), no fact-table text traces (a pretrained model has its own arithmetic).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from lightning_paretopo.args import ChatArgs, as_args
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.readers_math import read_gsm8k
from lightning_paretopo.data.splits import split_of
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.types import TaskExample
from lightning_paretopo.warmstart.chat_traces import gsm8k_trace
from lightning_paretopo.warmstart.task_traces import TaskTraces, build_task_traces
from lightning_paretopo.warmstart.trace_data import TraceDataModule

log = logging.getLogger(__name__)

CHAT_SETTINGS_FILE = "warmstart_chat.json"
"""Beside a warm-started policy: the ``rollout.chat`` settings its traces were rendered with."""

DEFAULT_CHAT_BEHAVIOURS: dict[str, dict[str, float]] = {
    "easy": {"direct": 0.7, "single_call": 0.3},
    "medium": {"direct": 0.3, "single_call": 0.7},
    "hard": {"direct": 0.05, "single_call": 0.95},
}
"""Easy problems mostly answered directly, medium ones mostly and hard ones almost always with
one call on the whole expression. Chosen on the val split with SmolLM2-135M (160 traces): with
40% of hard traces calling once per step, the model learned to make the first step's call of
``a*b-c`` and answer its result (greedy, hard: 57% right with the calculator); with one call it
was 100% right (sampled at T=1: 52% -> 97%)."""


def chat_settings_file(policy_dir: str | Path) -> Path:
    """Where the chat settings of the warm start that wrote ``policy_dir`` are recorded."""
    return Path(policy_dir) / CHAT_SETTINGS_FILE


def chat_drift(saved: Mapping[str, Any], chat: ChatArgs) -> list[str]:
    """The ``rollout.chat`` fields whose value differs from the warm start's ``saved`` ones."""
    current = asdict(chat)
    return [
        f"rollout.chat.{name}: warm start {saved.get(name)!r}, this run {current[name]!r}"
        for name in current
        if saved.get(name) != current[name]
    ]


def with_calculator(task: TaskExample, tier: str) -> TaskExample:
    """``task`` offering the calculator only, in evaluation tier ``tier``."""
    return dataclasses.replace(task, tools=("calculator",), meta={**task.meta, "tier": tier})


class ChatWarmStartDataModule(TraceDataModule):
    """Tool-use traces for a chat model, in its own chat template (see the module docstring).

    Args:
        chat: the chat protocol's system prompt, answer instruction, schemas and ``tools_in``;
            the same as the RL config's ``rollout.chat``.
        n_train: synthetic arithmetic training traces (train split).
        n_val: val-split arithmetic traces, for ``val/loss``.
        n_eval: arithmetic problems of ``eval_split`` for the fit-end rollout evaluation.
        eval_split: "val" (choose settings here) or "test" (report).
        seed: seeds the problems and the behaviour sampling.
        batch_size: traces per batch.
        behaviour_probs: per tier, behaviour -> probability; None: ``DEFAULT_CHAT_BEHAVIOURS``.
        tier_weights: relative frequency of each arith tier in training; None: uniform.
        gsm8k_dir: a directory with GSM8K's ``train.jsonl`` and ``test.jsonl``; None: no GSM8K.
        n_gsm8k_train: GSM8K traces added to training (first usable ones in a seeded order).
        n_gsm8k_eval: GSM8K problems added to the evaluation.
        max_gsm8k_calls: GSM8K solutions with more calculator marks are not used for training.
        num_workers: DataLoader workers.
    """

    task = "arith"

    def __init__(
        self,
        chat: ChatArgs | None = None,
        n_train: int = 400,
        n_val: int = 32,
        n_eval: int = 100,
        eval_split: Literal["val", "test"] = "test",
        seed: int = 0,
        batch_size: int = 8,
        behaviour_probs: dict[str, dict[str, float]] | None = None,
        tier_weights: dict[str, float] | None = None,
        gsm8k_dir: str | None = None,
        n_gsm8k_train: int = 0,
        n_gsm8k_eval: int = 0,
        max_gsm8k_calls: int = 3,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        for name, value in [("n_train", n_train), ("n_val", n_val), ("batch_size", batch_size)]:
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if eval_split not in ("val", "test"):
            raise ValueError(f"eval_split must be 'val' or 'test', got {eval_split!r}")
        if gsm8k_dir is None and (n_gsm8k_train or n_gsm8k_eval):
            raise ValueError("n_gsm8k_train / n_gsm8k_eval need gsm8k_dir (GSM8K's jsonl files)")
        if gsm8k_dir is not None and not (Path(gsm8k_dir) / "train.jsonl").is_file():
            raise ValueError(f"gsm8k_dir: no train.jsonl in {gsm8k_dir}; fix it or set it null")
        self.save_hyperparameters()
        self.chat = as_args(ChatArgs, chat)
        self.tokenizer: Any = None
        self.data: TaskTraces | None = None

    def attach_tokenizer(self, tokenizer: Any) -> None:
        """Render with ``tokenizer`` instead of the module's (tests, scripts)."""
        self.tokenizer = tokenizer

    def setup(self, stage: str | None = None) -> None:
        if self.data is not None:
            return
        from lightning_paretopo.building import chat_protocol  # building imports policy.*

        hp = self.hparams
        if self.tokenizer is None:
            self.tokenizer = self.trainer.lightning_module.tokenizer
        protocol = chat_protocol(self.chat, self.tokenizer)
        probs = hp.behaviour_probs or DEFAULT_CHAT_BEHAVIOURS
        data = build_task_traces(
            "arith", hp.n_train, hp.n_val, max(1, hp.n_eval), hp.seed, probs, fact_passes=0,
            tier_weights=hp.tier_weights, protocol=protocol,
        )  # fmt: skip
        data.eval_tasks = generate_arith(hp.n_eval, hp.seed, split=hp.eval_split)
        if hp.gsm8k_dir is not None:
            self._add_gsm8k(data)
        self.data = data
        log.info("chat warm-start traces: %s", data.summary())

    def _add_gsm8k(self, data: TaskTraces) -> None:
        hp = self.hparams
        calculator = Calculator()
        pool = [t for t in read_gsm8k(Path(hp.gsm8k_dir) / "train.jsonl")]
        held = [t for t in pool if split_of(t.prompt) == "val"]
        train = [t for t in pool if split_of(t.prompt) != "val"]
        random.Random(hp.seed).shuffle(train)
        traces = (gsm8k_trace(t, data.protocol, calculator, hp.max_gsm8k_calls) for t in train)
        data.train += [t for t in traces if t is not None][: hp.n_gsm8k_train]
        if hp.eval_split == "test":
            held = read_gsm8k(Path(hp.gsm8k_dir) / "test.jsonl")
        data.eval_tasks += [with_calculator(t, "gsm8k") for t in held[: hp.n_gsm8k_eval]]

    @property
    def prompt_special_tokens(self) -> bool:
        """Tokenize the prompt with special tokens? As the engine does: False for chat."""
        return self.data.protocol.add_special_tokens_to_prompt

    def chat_settings(self) -> dict[str, Any]:
        """The chat settings, as recorded beside the saved policy."""
        return asdict(self.chat)


def write_chat_settings(policy_dir: str | Path, settings: Mapping[str, Any]) -> Path:
    """Record ``settings`` beside the policy (``chat_settings_file``)."""
    path = chat_settings_file(policy_dir)
    path.write_text(json.dumps(dict(settings), indent=2, sort_keys=True) + "\n")
    return path
