"""The engine's per-trajectory state and its collation into a ``RolloutBatch``.

Contract: a ``Row`` holds one trajectory while it is rolled out (its ids exactly as sampled or
tokenized, an action mask that is 1 on sampled tokens, the turns, the call counts);
``collate`` right-pads finished rows into the [N, T] tensors of ``RolloutBatch``;
``is_call`` says whether a parsed turn is a tool call (well-formed or not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from lightning_paretopo.rollout.markup import ParsedTurn
from lightning_paretopo.types import RolloutBatch, TaskExample, TurnSpan


def is_call(turn: ParsedTurn) -> bool:
    """A tool call, well-formed or not: the row wants an observation (unless it sampled EOS)."""
    return turn.kind in ("call", "invalid")


@dataclass
class Row:
    """Mutable state of one trajectory while it is being rolled out."""

    ids: list[int]
    prompt_length: int
    mask: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # tokens not yet in the KV cache
    turns: list[TurnSpan] = field(default_factory=list)
    tool_calls: int = 0
    invalid_calls: int = 0
    errors: int = 0  # exceptions caught in its parsing or tool calls
    ended: bool = False  # ended by itself, not at a budget (``truncated`` is its negation)
    done: bool = False

    def __post_init__(self) -> None:
        self.mask = [0] * len(self.ids)


def collate(
    tokenizer: Any, rows: list[Row], group_size: int, tasks: list[TaskExample] | None = None
) -> RolloutBatch:
    """The finished rows as one right-padded ``RolloutBatch`` (rows in order); ``tasks``: the
    tasks rolled out, each repeated ``group_size`` times in the batch."""
    width = max(len(r.ids) for r in rows)
    n = len(rows)
    input_ids = torch.full((n, width), tokenizer.pad_token_id, dtype=torch.long)  # [N, T]
    attention_mask = torch.zeros((n, width), dtype=torch.long)  # [N, T]
    action_mask = torch.zeros((n, width), dtype=torch.long)  # [N, T]
    for i, row in enumerate(rows):
        input_ids[i, : len(row.ids)] = torch.tensor(row.ids, dtype=torch.long)
        attention_mask[i, : len(row.ids)] = 1
        action_mask[i, : len(row.ids)] = torch.tensor(row.mask, dtype=torch.long)
    return RolloutBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        action_mask=action_mask,
        prompt_lengths=torch.tensor([r.prompt_length for r in rows], dtype=torch.long),
        turns=[r.turns for r in rows],
        tool_calls=torch.tensor([r.tool_calls for r in rows], dtype=torch.long),
        invalid_calls=torch.tensor([r.invalid_calls for r in rows], dtype=torch.long),
        truncated=torch.tensor([not r.ended for r in rows], dtype=torch.bool),
        texts=[tokenizer.decode(r.ids[r.prompt_length :]) for r in rows],
        group_size=group_size,
        rollout_errors=sum(r.errors for r in rows),
        tasks=[task for task in tasks or [] for _ in range(group_size)],
    )
