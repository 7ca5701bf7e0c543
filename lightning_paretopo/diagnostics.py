"""No silent no-op training: per-step signal diagnostics and the all-zero-advantage warning.

Contract:
    ``step_diagnostics(a, batch, formats)`` gives three shares in [0, 1], logged every
    training step:

    - ``train/zero_advantage_groups``: the share of groups whose token advantages ``a`` [N, T]
      are exactly 0 on every sampled token (``batch.action_mask``). A group whose rewards are
      all equal gets exactly 0 from every method (``advantages.group.zscore_groups`` and the
      Pareto ranks make ties exactly 0), so this is the share of groups that teach nothing;
      a group with no sampled token at all also counts (it has no gradient either).
    - ``train/answered``: the share of rows with a final answer, by the one definition the
      ``Accuracy`` and ``Format`` heads score with: ``rewards.checkers.extract_answer`` in the
      answer formats the heads read (``answer_formats(heads)``: the first head's
      ``answer_formats`` that is set; None: ``extract_answer``'s default). No re-parsing here.
    - ``train/called``: the share of rows that issued at least one tool call (valid or not,
      ``batch.tool_calls > 0``).

    ``ZeroAdvantageWatch(patience)`` counts consecutive training steps on which every group had
    zero advantage. When a stretch reaches ``patience`` steps it returns a warning text once
    (the caller logs it with ``logging.warning``); a step with any non-zero advantage ends the
    stretch, and a later stretch warns again. ``stretches`` keeps [first global step, last global
    step, training steps] of every stretch that reached ``patience`` (the last one grows while it
    lasts; with ``loss.ppo_epochs`` E a training step advances ``global_step`` by E); ``report()`` is the
    line the run summary prints, or None. ``state_dict`` / ``load_state_dict`` carry it in
    the checkpoint (plain types), so a resumed run counts on.

Deliberately not done: no automatic fix (raising the temperature, changing the prompt); the
warning says what to check. The KL term (``loss.kl_beta``) still moves the policy when every
advantage is 0; the warning is about the rewards teaching nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.rewards.checkers import extract_answer
from lightning_paretopo.types import RolloutBatch

WHAT_TO_CHECK = (
    "the rewards are equal within every group, so the policy gets no learning signal. Check "
    "that the tool schemas reach the prompt (train/called: share of rows with a tool call), "
    "that the answer format is one the accuracy head reads (train/answered: share of rows with "
    "a parsed answer), the sampling temperature, and the learning rate"
)


def zero_advantage_groups(a: Tensor, action_mask: Tensor, group_size: int) -> Tensor:
    """BoolTensor [B]: True for each group whose advantages are 0 on every sampled token.

    Args:
        a: [N, T] token advantages (N = B * G rows, groups contiguous).
        action_mask: [N, T] 1 on sampled tokens.
        group_size: G.
    """
    nonzero = (a != 0) & (action_mask != 0)  # [N, T]
    per_row = nonzero.any(dim=1)  # [N]
    return ~per_row.reshape(-1, group_size).any(dim=1)  # [B]


def answer_formats(heads: Iterable[Any]) -> Sequence[str] | None:
    """The answer formats the reward heads read: the first ``answer_formats`` set on a head
    (the heads agree on it), or None when no head names any."""
    for head in heads:
        formats = getattr(head, "answer_formats", None)
        if formats is not None:
            return formats
    return None


def answered_rows(texts: list[str], formats: Sequence[str] | None = None) -> Tensor:
    """BoolTensor [N]: the row has a final answer (``extract_answer`` in ``formats``; None:
    its default formats)."""
    extra = () if formats is None else (formats,)
    return torch.tensor([extract_answer(t, *extra) is not None for t in texts], dtype=torch.bool)


def step_diagnostics(
    a: Tensor, batch: RolloutBatch, formats: Sequence[str] | None = None
) -> dict[str, float]:
    """train/zero_advantage_groups, train/answered, train/called of one step (see module doc).

    Args:
        a: [N, T] the token advantages the loss trains on.
        batch: the step's rollout (action mask, texts, tool calls).
        formats: the answer formats of the reward heads (``answer_formats``).
    """
    zero = zero_advantage_groups(a, batch.action_mask, batch.group_size)  # [B]
    return {
        "train/zero_advantage_groups": float(zero.float().mean()),
        "train/answered": float(answered_rows(batch.texts, formats).float().mean()),
        "train/called": float((batch.tool_calls > 0).float().mean()),
    }


class ZeroAdvantageWatch:
    """Warns once per stretch of ``patience`` consecutive all-zero-advantage training steps.

    Args:
        patience: consecutive steps with every advantage 0 before the warning (an int >= 1).
    """

    def __init__(self, patience: int = 10) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"zero_advantage_patience must be an int >= 1, got {patience!r}")
        self.patience = patience
        self.run_start: int | None = None  # first step of the current all-zero stretch
        self.run_length = 0
        self.stretches: list[list[int]] = []  # [first, last global step, steps] per stretch

    def observe(self, step: int, report: dict[str, float]) -> str | None:
        """Record training step ``step`` (its ``global_step``) from its ``step_diagnostics``
        ``report``; the warning text when the current stretch has just reached ``patience``
        steps, else None."""
        if report["train/zero_advantage_groups"] < 1.0:
            self.run_start, self.run_length = None, 0
            return None
        if self.run_start is None:
            self.run_start = step
        self.run_length += 1
        if self.run_length > self.patience:
            self.stretches[-1][1:] = [step, self.run_length]
        if self.run_length != self.patience:
            return None
        self.stretches.append([self.run_start, step, self.run_length])
        return (
            f"every advantage has been 0 for {self.patience} consecutive training steps "
            f"(global steps {self.run_start}-{step}; this step {report['train/called']:.0%} of "
            f"the rows called a tool and {report['train/answered']:.0%} gave a parsed answer): "
            f"{WHAT_TO_CHECK}"
        )

    def report(self) -> str | None:
        """The run summary's line when some stretch reached ``patience`` steps, else None."""
        if not self.stretches:
            return None
        spans = ", ".join(f"global steps {first}-{last}" for first, last, _ in self.stretches)
        steps = sum(n for *_, n in self.stretches)
        return f"{steps} training steps with every advantage 0 ({spans}): {WHAT_TO_CHECK}"

    def state_dict(self) -> dict[str, Any]:
        return {
            "run_start": self.run_start,
            "run_length": self.run_length,
            "stretches": [list(s) for s in self.stretches],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_start, self.run_length = state["run_start"], state["run_length"]
        self.stretches = [list(s) for s in state["stretches"]]
