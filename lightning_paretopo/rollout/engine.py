"""The batched multi-turn rollout engine: B tasks x G samples -> one ``RolloutBatch``.

Contract, per turn (at most ``max_turns``):
1. every active row samples one action with ``sample_turn`` (batched, left-padded, KV cache on)
   until a stop string of the markup, EOS, or its budget ``min(max_new_tokens,
   max_total_tokens - len(row))``. A row whose trajectory ends with this turn leaves the decode
   batch as soon as it stops (``drop_finished``; the sampled tokens are the same either way).
   The KV cache is kept across turns (finished rows are dropped from it) and only the new
   tokens are fed: the last sampled token and the observation. ``reuse_cache=False`` (or a
   cache without ``batch_select_indices``) prefills the grown context again instead;
2. each turn is parsed with ``protocol.parse_turn``; the well-formed calls of all rows run
   concurrently through ``run_tool_calls``; a malformed call gets an error ``ToolResult``.
   Model output never stops a batch: a parser that raises on a row's turn, or a tool that
   raises on its call, makes that row's turn an invalid call answered with an error (the
   other rows go on), and each such exception counts in ``RolloutBatch.rollout_errors``;
3. a row that called a tool (validly or not, e.g. a call left unclosed at the turn budget)
   continues when it did not sample EOS, has a turn left and room for the observation plus one
   token: the observation (tokenized alone, without special tokens) is appended with
   action_mask 0. Otherwise the row ends.
A row ends on a final answer, EOS, a turn with neither call nor answer, or a budget.
``truncated`` is True for every row that did not end by itself: its last turn ran out of tokens
(``max_new_tokens`` or ``max_total_tokens``), or it called a tool with no turn or no room left
for the observation (``max_turns``, ``max_total_tokens``). Whether the row holds a final
answer is not the engine's business: the reward heads read answers (``rewards.Accuracy``'s
``answer_formats``), so a row that writes "#### 12" and stops is not truncated. A call in the
last turn still runs (so its validity counts) but its observation is not appended.

Invariants: the policy's tokens are stored exactly as sampled; ``action_mask`` is 1 exactly
on them; prompt and observation tokens come from the tokenizer; each row's length is at most
``max_total_tokens`` (prompt included); rows ``g*G .. g*G+G-1`` belong to task g.

Reproducibility: sampling draws from ``generator`` or, if None, torch's global RNG (seed it
with ``torch.manual_seed``). The engine runs under ``torch.no_grad()`` and never calls
``model.eval()`` / ``model.train()``: the caller chooses the mode (QLoRA on CPU must stay in
train mode during rollouts, see ``policy/``); in train mode any dropout is active while sampling.

Deliberately not done: a row that stops on a tool call rides along (masked) until the turn's
last row stops, since its cache is needed next turn; no streaming, no speculative decoding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch

from lightning_paretopo.rollout.calls import CAUGHT_ERRORS, parse_turn_safely, run_calls_safely
from lightning_paretopo.rollout.markup import MarkupProtocol, ParsedTurn
from lightning_paretopo.rollout.rows import Row, collate, is_call
from lightning_paretopo.rollout.sampling import DecodeState, SamplingConfig, sample_turn
from lightning_paretopo.rollout.stops import StopMatcher
from lightning_paretopo.tools.base import Tool, ToolResult
from lightning_paretopo.types import RolloutBatch, TaskExample, TurnSpan

log = logging.getLogger(__name__)


class RolloutEngine:
    """Batched multi-turn generation with tool calls (see the module docstring).

    Args:
        protocol: the markup (``TaggedProtocol`` or ``ChatTemplateProtocol``).
        tools: tool name -> ``Tool``; a call to a name not here is an invalid call.
        max_turns: policy turns per trajectory (>= 1).
        max_new_tokens: sampled tokens per turn (>= 1).
        max_total_tokens: tokens per row, prompt, actions and observations included.
        temperature: softmax temperature (> 0) when sampling.
        top_p: nucleus threshold in (0, 1]; 1 disables it.
        do_sample: False for greedy decoding.
        tool_workers: threads running tool calls concurrently.
        eos_token_ids: ids that end a row; None takes the tokenizer's EOS and the model's
            ``generation_config.eos_token_id``; ``[]`` never stops on EOS (benchmarks).
        reuse_cache: keep each row's KV cache across turns and feed only the new tokens;
            False prefills the whole grown context every turn (slower, same tokens).
        drop_finished: drop a row from the decode batch as soon as its trajectory ends inside
            a turn; False keeps it riding along, masked, to the turn's end (slower, same tokens).
    """

    def __init__(
        self,
        protocol: MarkupProtocol,
        tools: Mapping[str, Tool],
        max_turns: int = 4,
        max_new_tokens: int = 64,
        max_total_tokens: int = 512,
        temperature: float = 1.0,
        top_p: float = 1.0,
        do_sample: bool = True,
        tool_workers: int = 8,
        eos_token_ids: Sequence[int] | None = None,
        reuse_cache: bool = True,
        drop_finished: bool = True,
    ) -> None:
        for name, value in [("max_turns", max_turns), ("max_new_tokens", max_new_tokens)]:
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if max_total_tokens < 2:
            raise ValueError(f"max_total_tokens must be >= 2, got {max_total_tokens}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0 (use do_sample=False), got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if tool_workers < 1:
            raise ValueError(f"tool_workers must be >= 1, got {tool_workers}")
        self.protocol = protocol
        self.tools = dict(tools)
        self.max_turns = max_turns
        self.max_new_tokens = max_new_tokens
        self.max_total_tokens = max_total_tokens
        self.sampling = SamplingConfig(temperature=temperature, top_p=top_p, do_sample=do_sample)
        self.tool_workers = tool_workers
        self.eos_token_ids = None if eos_token_ids is None else list(eos_token_ids)
        self.reuse_cache = reuse_cache
        self.drop_finished = drop_finished

    def _eos_ids(self, model: torch.nn.Module, tokenizer: Any) -> set[int]:
        if self.eos_token_ids is not None:
            return set(self.eos_token_ids)
        ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        ids.update([gen_eos] if isinstance(gen_eos, int) else (gen_eos or []))
        return ids

    def _start_rows(self, tokenizer: Any, tasks: list[TaskExample], group_size: int) -> list[Row]:
        rows = []
        for task in tasks:
            text = self.protocol.render_prompt(task, tokenizer)
            add = self.protocol.add_special_tokens_to_prompt
            ids = tokenizer(text, add_special_tokens=add)["input_ids"]
            if len(ids) >= self.max_total_tokens:
                log.warning("task %s: prompt of %d tokens >= max_total_tokens", task.id, len(ids))
            rows.extend(Row(ids=list(ids), prompt_length=len(ids)) for _ in range(group_size))
        for row in rows:
            row.done = row.prompt_length >= self.max_total_tokens
        return rows

    @torch.no_grad()
    def generate(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        tasks: list[TaskExample],
        group_size: int,
        generator: torch.Generator | None = None,
        greedy: bool | None = None,
    ) -> RolloutBatch:
        """Roll out ``group_size`` trajectories per task; N = len(tasks) * group_size rows.

        ``greedy`` overrides ``sampling.do_sample`` for this call (None: as configured); the
        engine's own settings are never changed by a call."""
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        if not tasks:
            raise ValueError("tasks must not be empty")
        if tokenizer.pad_token_id is None:
            raise ValueError("tokenizer.pad_token_id is None; set a pad token")
        matcher = StopMatcher(tokenizer, self.protocol.stop_strings)
        eos_ids = self._eos_ids(model, tokenizer)
        rows = self._start_rows(tokenizer, tasks, group_size)
        state: DecodeState | None = None
        sampling = self.sampling if greedy is None else replace(self.sampling, do_sample=not greedy)
        for turn in range(self.max_turns):
            active = [row for row in rows if not row.done]
            if not active:
                break
            budgets = [min(self.max_new_tokens, self.max_total_tokens - len(r.ids)) for r in active]
            last, parsed = turn == self.max_turns - 1, {}
            outs, state = sample_turn(
                model,
                [r.ids if state is None else r.pending for r in active],
                budgets,
                matcher,
                eos_ids,
                tokenizer.pad_token_id,
                sampling,
                generator,
                state,
                self._ends(tokenizer, eos_ids, last, parsed) if self.drop_finished else None,
            )
            self._finish_turn(tokenizer, active, outs, eos_ids, last, parsed)
            keep = [i for i, row in enumerate(active) if not row.done]
            state = self._next_state(state, keep)
        return collate(tokenizer, rows, group_size, tasks)

    def _ends(self, tokenizer: Any, eos_ids: set[int], last: bool, parsed: dict) -> Any:
        """``sample_turn``'s ``ends``: whether a row's trajectory ends with the turn it just
        sampled, decided as ``_finish_turn`` decides it (parses are kept in ``parsed``)."""

        def ends(ids: list[int], reason: str) -> bool:
            if last or reason == "eos":
                return True
            parsed[tuple(ids)] = parse_turn_safely(self.protocol, tokenizer, ids, eos_ids)
            return not is_call(parsed[tuple(ids)][0])

        return ends

    def _next_state(self, state: DecodeState, keep: list[int]) -> DecodeState | None:
        """The cache of the active rows ``keep`` for the next turn, or None to prefill again
        (``reuse_cache`` off, no row left, or a kept row not in the cache)."""
        where = {row: pos for pos, row in enumerate(state.rows)}
        if not (self.reuse_cache and keep and all(i in where for i in keep)):
            return None
        return state.select([where[i] for i in keep])

    def _parse_and_run(
        self,
        tokenizer: Any,
        outs: list[tuple[list[int], str]],
        eos_ids: set[int],
        parsed: dict | None = None,
    ) -> list[tuple[ParsedTurn, ToolResult]]:
        """Parse each sampled turn (or take its parse from ``parsed``); run all well-formed
        calls concurrently."""
        known = parsed or {}
        parsed = [
            known.get(tuple(ids)) or parse_turn_safely(self.protocol, tokenizer, ids, eos_ids)
            for ids, _ in outs
        ]
        turns = [turn for turn, _ in parsed]
        calls = [i for i, turn in enumerate(turns) if turn.kind == "call"]
        ran = run_calls_safely(
            [(turns[i].tool, turns[i].arguments) for i in calls], self.tools, self.tool_workers
        )
        results = [
            failed or ToolResult(False, turn.error or "", "invalid_call") for turn, failed in parsed
        ]
        for i, result in zip(calls, ran, strict=True):
            results[i] = result
        return list(zip(turns, results, strict=True))

    def _finish_turn(
        self,
        tokenizer: Any,
        active: list[Row],
        outs: list[tuple[list[int], str]],
        eos_ids: set[int],
        last: bool,
        parsed: dict | None = None,
    ) -> None:
        """Record the sampled turn of each active row, run its call, append observations."""
        answers = self._parse_and_run(tokenizer, outs, eos_ids, parsed)
        for row, (ids, reason), (turn, result) in zip(active, outs, answers, strict=True):
            start = len(row.ids)
            row.ids.extend(ids)
            row.mask.extend([1] * len(ids))
            called = is_call(turn)
            valid = turn.kind != "invalid" and (not called or result.ok)
            row.turns.append(TurnSpan(start, len(row.ids), turn.tool if called else None, valid))
            row.tool_calls += called
            row.invalid_calls += called and not valid
            row.errors += result.error in CAUGHT_ERRORS
            wants_observation = called and reason != "eos"
            row.ended = not wants_observation and reason != "budget"
            row.done = not wants_observation or last
            if row.done:
                continue
            obs = self.protocol.format_observation(turn.tool, result)
            obs_ids = tokenizer(obs, add_special_tokens=False)["input_ids"]
            if len(row.ids) + len(obs_ids) >= self.max_total_tokens:
                row.done = True
                continue
            row.ids.extend(obs_ids)
            row.mask.extend([0] * len(obs_ids))
            row.pending = ids[-1:] + obs_ids
