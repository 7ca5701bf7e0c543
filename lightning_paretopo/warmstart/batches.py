"""Tokenize warm-start traces into training batches: padded, or packed without cross-talk.

Contract:
    - ``tokenize_trace`` gives ``input_ids`` and a ``loss_mask`` that is 1 exactly on the
      tokens of trainable segments and on the closing EOS. The first segment (the prompt) is
      tokenized with the tokenizer's special tokens, as the rollout engine tokenizes a prompt;
      the others without, as the engine appends actions and observations.
    - ``collate_traces`` right-pads a batch: ``labels = -100`` off the loss mask.
    - ``pack_traces`` puts several traces in one row with a block-diagonal causal mask and
      per-trace positions: each trace's logits and the batch loss equal the padded ones, with
      about half the tokens per step on arith.

Deliberately not done: no truncation warnings (traces are cut at ``max_length`` silently; the
configs size it to the longest trace).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lightning_paretopo.warmstart.traces import Trace


def tokenize_trace(
    trace: Trace, tokenizer, prompt_special_tokens: bool = True
) -> tuple[list[int], list[int]]:
    """``(input_ids, loss_mask)`` of a trace, both of length T.

    The first segment is tokenized with the tokenizer's special tokens when
    ``prompt_special_tokens`` (as the engine tokenizes a prompt), the others without; an EOS
    closes the trace and is trained on.
    """
    input_ids: list[int] = []
    loss_mask: list[int] = []
    for i, (text, trainable) in enumerate(trace.segments):
        ids = tokenizer(text, add_special_tokens=prompt_special_tokens and i == 0).input_ids
        input_ids += ids
        loss_mask += [int(trainable)] * len(ids)
    input_ids.append(tokenizer.eos_token_id)
    loss_mask.append(1)
    return input_ids, loss_mask


def collate_traces(
    traces: Sequence[Trace], tokenizer, max_length: int = 512, prompt_special_tokens: bool = True
) -> dict[str, torch.Tensor]:
    """Right-padded batch: ``input_ids``, ``attention_mask``, ``labels`` (all [B, T]).

    ``labels`` is ``input_ids`` where the loss mask is 1 and -100 elsewhere (prompt, tool
    observations, padding). Traces longer than ``max_length`` are cut on the right.
    """
    rows = [tokenize_trace(t, tokenizer, prompt_special_tokens) for t in traces]
    width = min(max_length, max(len(ids) for ids, _ in rows))
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for b, (ids, mask) in enumerate(rows):
        ids, mask = ids[:width], mask[:width]
        n = len(ids)
        input_ids[b, :n] = torch.tensor(ids)
        attention_mask[b, :n] = 1
        labels[b, :n] = torch.where(torch.tensor(mask) == 1, torch.tensor(ids), -100)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def pack_traces(
    traces: Sequence[Trace], tokenizer, max_length: int = 256, prompt_special_tokens: bool = True
) -> dict[str, torch.Tensor]:
    """Pack traces into rows of at most ``max_length`` tokens (first fit, in order).

    Returns ``input_ids``, ``position_ids``, ``labels`` (all [R, L]) and a boolean block-diagonal
    causal ``attention_mask`` [R, 1, L, L]: a token sees only earlier tokens of its own trace
    and positions restart at 0 per trace, so each trace's logits equal its unpacked logits.
    A trace's first token is never a target. Rows end with padding that attends to itself.
    """
    rows: list[list[tuple[list[int], list[int]]]] = []
    used: list[int] = []
    for trace in traces:
        ids, mask = tokenize_trace(trace, tokenizer, prompt_special_tokens)
        ids, mask = ids[:max_length], [0] + mask[1:max_length]
        row = next((r for r, n in enumerate(used) if n + len(ids) <= max_length), None)
        if row is None:
            rows.append([])
            used.append(0)
            row = len(rows) - 1
        rows[row].append((ids, mask))
        used[row] += len(ids)
    width = max(used)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    segment = torch.arange(width).repeat(len(rows), 1) + len(traces)  # padding: own segment
    for r, items in enumerate(rows):
        start = 0
        for k, (ids, mask) in enumerate(items):
            end = start + len(ids)
            input_ids[r, start:end] = torch.tensor(ids)
            position_ids[r, start:end] = torch.arange(len(ids))
            labels[r, start:end] = torch.where(torch.tensor(mask) == 1, torch.tensor(ids), -100)
            segment[r, start:end] = k
            start = end
    causal = torch.tril(torch.ones(width, width, dtype=torch.bool))  # [L, L]
    same = segment[:, :, None] == segment[:, None, :]  # [R, L, L]
    attention_mask = (same & causal)[:, None]  # [R, 1, L, L]
    return {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "attention_mask": attention_mask,
        "labels": labels,
    }
