"""Typed containers that cross module boundaries.

Shapes use N = rows of a rollout batch (B prompts x G rollouts, groups contiguous),
T = padded sequence length, K = objectives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class TaskExample:
    """One task instance, before any tokenization.

    Attributes:
        id: stable identifier (unique within its dataset split).
        kind: task family, e.g. ``"arith"``, ``"kbqa"``, ``"gsm8k"``, ``"math"``, ``"qa"``.
        prompt: the question shown to the policy (without system text or tool instructions).
        answer: gold answer(s); QA tasks may carry several aliases.
        tools: names of the tools this task may use, e.g. ``("calculator",)``.
        meta: free-form extras (difficulty tier, hop count, supporting facts, ...).
    """

    id: str
    kind: str
    prompt: str
    answer: str | tuple[str, ...]
    tools: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnSpan:
    """One action (policy turn) inside a trajectory: tokens ``[start, end)`` of the row.

    Attributes:
        start: first sampled token of the turn (inclusive).
        end: one past the last sampled token of the turn.
        tool: name of the tool this turn called, or None when it called none.
        valid: False when the turn attempted a call that could not be parsed or run.
    """

    start: int
    end: int
    tool: str | None = None
    valid: bool = True

    @property
    def called_tool(self) -> bool:
        return self.tool is not None or not self.valid


@dataclass
class RolloutBatch:
    """The output of the multi-turn rollout engine. Rows ``g*G .. (g+1)*G-1`` form group g.

    Attributes:
        input_ids: LongTensor [N, T], prompt + actions + observations, right-padded.
        attention_mask: LongTensor [N, T], 1 on real tokens.
        action_mask: LongTensor [N, T], 1 exactly on tokens the policy sampled.
        prompt_lengths: LongTensor [N], number of prompt tokens of each row.
        turns: per row, the list of its action spans in order.
        tool_calls: LongTensor [N], tool calls issued (valid or not).
        invalid_calls: LongTensor [N], calls that were malformed or failed to run.
        truncated: BoolTensor [N], True when the row did not end by itself: it hit a token
            budget, or called a tool with no turn or room left for the observation.
        texts: per row, the decoded completion (everything after the prompt).
        group_size: G.
        rollout_errors: exceptions caught while rolling out the batch (a turn's parser or a
            call's tool raised); each made its row's turn an invalid call.
        tasks: the task of each row (each task ``group_size`` times, in order), as the engine
            rolled them out; the reward heads score against these (empty: pass them).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    action_mask: torch.Tensor
    prompt_lengths: torch.Tensor
    turns: list[list[TurnSpan]]
    tool_calls: torch.Tensor
    invalid_calls: torch.Tensor
    truncated: torch.Tensor
    texts: list[str]
    group_size: int
    rollout_errors: int = 0
    tasks: list[TaskExample] = field(default_factory=list)

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def to(self, device: torch.device | str) -> RolloutBatch:
        """The batch with every tensor on ``device`` (the lists and counts as they are)."""
        moved = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in moved.items()}
        return dataclasses.replace(self, **moved)

    def tool_turn_mask(self) -> torch.Tensor:
        """LongTensor [N, T]: 1 on the sampled tokens of turns that issued a tool call."""
        mask = torch.zeros_like(self.action_mask)
        for row, spans in enumerate(self.turns):
            for span in spans:
                if span.called_tool:
                    mask[row, span.start : span.end] = 1
        return mask * self.action_mask
