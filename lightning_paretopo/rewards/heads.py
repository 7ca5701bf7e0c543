"""The default objectives of ALGORITHM.md as reward heads (raw values [N], NaN = not applicable).

Contract (m = ``batch.tool_calls``, valid or not; all bounds are [0, 1]):

- ``Accuracy(mode, answer_formats)``, attribution "all": the final answer is
  ``extract_answer(text, answer_formats)`` (``checkers.ANSWER_FORMATS``: the last
  ``<answer>...</answer>``, else ``\\boxed{}``, else the last "The answer is X" / "#### X"; a
  config may enable a subset, e.g. ``[gsm8k]``). Math kinds (arith, gsm8k,
  math) score 1/0 by ``math_equal`` against any gold alias (F1 mode does not change them). QA
  kinds (kbqa, qa) score 1/0 by ``qa_exact_match`` (mode "exact") or ``qa_f1`` in [0, 1]
  (mode "f1"), max over aliases. No extractable answer scores 0. Always applicable; a task kind
  in neither list raises ValueError. Call it from the main thread: off it, ``math_equal``
  skips math-verify (its CPU budget needs a SIGPROF handler), so symbolic-only matches score 0.
Gated (ALGORITHM.md S5): ``ToolEfficiency`` and ``Brevity`` (what a trajectory spends);
``Accuracy`` and ``Format`` are not.

- ``ToolEfficiency(budget=M)``, attribution "tool_turns": 1 - min(m, M) / M. Applicable to every
  task by default, including one that lists no tools: it scores 1 with no calls, and a call it
  attempts anyway (necessarily invalid) costs like any other. With ``nan_without_tools=True``
  a task whose ``tools`` is empty gets NaN instead (whole groups, since a group shares a task).
- ``Format(answer_formats)``, attribution "all": 1 when the row has a final answer in the
  answer formats, no invalid call (``invalid_calls == 0``) and was not truncated (``truncated``
  False: it ended by itself, not at a budget), else 0.
- Answer formats are read one way in a set of heads (``link_answer_formats``, called by
  ``RewardHeads``): a head whose ``answer_formats`` is None takes those the set's other heads
  name (they must agree), else ``ANSWER_FORMATS``. So ``Accuracy(answer_formats=[gsm8k])``
  makes ``Format`` read "####" too, and a row that answers "#### 12" and stops is both scored
  and well formed.
- ``Brevity(max_tokens)``, attribution "all": clip(1 - s / max_tokens, 0, 1) with s the number
  of sampled tokens of the row (``action_mask.sum()``; prompt and observations do not count).

Deliberately not done: answers are read from the whole completion text, observations included
(heads never see the tokenizer or the markup); no partial credit for math; no length penalty
inside ``Accuracy`` (that is ``Brevity``'s job, as a separate objective).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from lightning_paretopo.rewards.base import RewardHead
from lightning_paretopo.rewards.checkers import (
    ANSWER_FORMATS,
    check_answer_formats,
    extract_answer,
    math_equal,
    qa_exact_match,
    qa_f1,
)
from lightning_paretopo.rewards.symbolic import DEFAULT_CPU_BUDGET_S
from lightning_paretopo.types import RolloutBatch, TaskExample

MATH_KINDS: tuple[str, ...] = ("arith", "gsm8k", "math")
"""Task kinds scored by ``math_equal``."""
QA_KINDS: tuple[str, ...] = ("kbqa", "qa")
"""Task kinds scored by ``qa_exact_match`` / ``qa_f1``."""
ACCURACY_MODES = ("exact", "f1")


def _aliases(task: TaskExample, row: int) -> tuple[str, ...]:
    golds = (task.answer,) if isinstance(task.answer, str) else tuple(task.answer)
    if not golds:
        raise ValueError(
            f"tasks[{row}] (id {task.id!r}) has an empty answer tuple; give >= 1 alias"
        )
    return golds


def _row_counts(batch: RolloutBatch, field: str) -> Tensor:
    """``batch.<field>`` as a float64 [N] tensor, checked for shape."""
    counts = getattr(batch, field)
    if counts.shape != (len(batch),):
        raise ValueError(f"batch.{field} must be [N] = [{len(batch)}], got {tuple(counts.shape)}")
    return counts.to(device=batch.action_mask.device, dtype=torch.float64)  # [N]


def _formats(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else check_answer_formats(value)


def link_answer_formats(heads: Sequence[RewardHead]) -> None:
    """Give every head with ``answer_formats`` None the formats its set names (module docstring).

    Raises:
        ValueError: two heads name different answer formats.
    """
    readers = [h for h in heads if hasattr(h, "answer_formats")]
    named = {h.name: h.answer_formats for h in readers if h.answer_formats is not None}
    if len(set(named.values())) > 1:
        raise ValueError(
            f"heads read final answers in different formats {named}; give them the same "
            "answer_formats (or set it on one head only: the others follow)"
        )
    formats = next(iter(named.values()), ANSWER_FORMATS)
    for head in readers:
        head.answer_formats = formats


class Accuracy(RewardHead):
    """Task accuracy: 1/0 (math equivalence or QA exact match), or QA token F1.

    Args:
        mode: "exact" (1/0 everywhere) or "f1" (SQuAD token F1 for QA kinds).
        math_kinds: task kinds checked with ``math_equal``.
        qa_kinds: task kinds checked with ``qa_exact_match`` / ``qa_f1``.
        timeout_s: CPU seconds (not wall-clock) one math-verify comparison may use (> 0).
        answer_formats: the final-answer formats read (``checkers.ANSWER_FORMATS``: answer_tag,
            boxed, answer_is, gsm8k); None: those the other heads name, else all of them.
        name: the objective's key.
    """

    def __init__(
        self,
        mode: Literal["exact", "f1"] = "exact",
        math_kinds: tuple[str, ...] = MATH_KINDS,
        qa_kinds: tuple[str, ...] = QA_KINDS,
        timeout_s: float = DEFAULT_CPU_BUDGET_S,
        answer_formats: tuple[str, ...] | None = None,
        name: str = "accuracy",
    ):
        super().__init__(name, lo=0.0, hi=1.0, attribution="all")
        self.answer_formats = _formats(answer_formats)
        if mode not in ACCURACY_MODES:
            raise ValueError(f"mode must be one of {ACCURACY_MODES}, got {mode!r}")
        if set(math_kinds) & set(qa_kinds):
            raise ValueError(
                f"math_kinds and qa_kinds must be disjoint, both hold "
                f"{sorted(set(math_kinds) & set(qa_kinds))}"
            )
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 CPU seconds, got {timeout_s!r}")
        self.mode = mode
        self.math_kinds = tuple(math_kinds)
        self.qa_kinds = tuple(qa_kinds)
        self.timeout_s = float(timeout_s)

    def _score(self, kind: str, pred: str | None, golds: tuple[str, ...]) -> float:
        if pred is None:
            return 0.0
        if kind in self.math_kinds:
            return float(any(math_equal(pred, g, self.timeout_s) for g in golds))
        if self.mode == "f1":
            return qa_f1(pred, golds)
        return float(qa_exact_match(pred, golds))

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> list[float]:
        known = self.math_kinds + self.qa_kinds
        for row, task in enumerate(tasks):
            if task.kind not in known:
                raise ValueError(
                    f"tasks[{row}].kind={task.kind!r} is unknown to {self.name!r}; known kinds "
                    f"are {list(known)}: add it to math_kinds or qa_kinds"
                )
        cache: dict[tuple[str, str | None, tuple[str, ...]], float] = {}  # groups repeat answers
        values = []
        for row, (task, text) in enumerate(zip(tasks, batch.texts, strict=True)):
            answer = extract_answer(text, self.answer_formats or ANSWER_FORMATS)
            key = (task.kind, answer, _aliases(task, row))
            if key not in cache:
                cache[key] = self._score(*key)
            values.append(cache[key])
        return values


class ToolEfficiency(RewardHead):
    """1 - min(m, M) / M with m the row's tool calls (valid or invalid) and M the budget.

    Args:
        budget: M, the per-trajectory tool budget (an int >= 1); m >= M scores 0.
        nan_without_tools: give NaN (not applicable) to tasks whose ``tools`` is empty.
        name: the objective's key.
    """

    def __init__(
        self, budget: int = 4, nan_without_tools: bool = False, name: str = "tool_efficiency"
    ):
        super().__init__(name, lo=0.0, hi=1.0, attribution="tool_turns", gated=True)
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(
                f"budget must be an int >= 1 (tool calls per trajectory), got {budget!r}"
            )
        self.budget = budget
        self.nan_without_tools = bool(nan_without_tools)

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> Tensor:
        m = _row_counts(batch, "tool_calls")  # [N]
        if bool((m < 0).any()):
            raise ValueError(f"batch.tool_calls must be >= 0, got {m.tolist()}")
        values = 1.0 - m.clamp(max=self.budget) / self.budget  # [N]
        if self.nan_without_tools:
            no_tools = torch.tensor(
                [not t.tools for t in tasks], dtype=torch.bool, device=values.device
            )  # [N]
            values = values.masked_fill(no_tools, float("nan"))
        return values  # [N]


class Format(RewardHead):
    """1 for a well-formed trajectory (final answer, no invalid call, not truncated), else 0.

    Args:
        answer_formats: the final-answer formats that count (as ``Accuracy``'s); None: those
            the other heads name, else all of them.
        name: the objective's key.
    """

    def __init__(self, answer_formats: tuple[str, ...] | None = None, name: str = "format"):
        super().__init__(name, lo=0.0, hi=1.0, attribution="all")
        self.answer_formats = _formats(answer_formats)

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> Tensor:
        device = batch.action_mask.device
        formats = self.answer_formats or ANSWER_FORMATS
        answered = [extract_answer(t, formats) is not None for t in batch.texts]
        answered = torch.tensor(answered, dtype=torch.bool, device=device)  # [N]
        clean = _row_counts(batch, "invalid_calls") == 0  # [N]
        finished = ~_row_counts(batch, "truncated").bool()  # [N]
        return (answered & clean & finished).to(torch.float64)  # [N]


class Brevity(RewardHead):
    """clip(1 - sampled tokens / max_tokens, 0, 1).

    Args:
        max_tokens: sampled tokens at which brevity reaches 0 (an int >= 1).
        name: the objective's key.
    """

    def __init__(self, max_tokens: int, name: str = "brevity"):
        super().__init__(name, lo=0.0, hi=1.0, attribution="all", gated=True)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be an int >= 1, got {max_tokens!r}")
        self.max_tokens = max_tokens

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> Tensor:
        sampled = (batch.action_mask != 0).sum(dim=1).to(torch.float64)  # [N]
        return (1.0 - sampled / self.max_tokens).clamp(0.0, 1.0)  # [N]


HEADS: dict[str, type[RewardHead]] = {
    "accuracy": Accuracy,
    "tool_efficiency": ToolEfficiency,
    "format": Format,
    "brevity": Brevity,
}
"""The built-in heads by default name (``RewardHeads.from_names``)."""

__all__ = [
    "ACCURACY_MODES",
    "HEADS",
    "MATH_KINDS",
    "QA_KINDS",
    "Accuracy",
    "Brevity",
    "Format",
    "RewardHead",
    "ToolEfficiency",
    "link_answer_formats",
]
