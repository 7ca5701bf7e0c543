"""Warm-start traces: supervised examples of every tool behaviour, built with the real markup
and the real tools.

Contract:
    - A ``Trace`` is a list of text segments, each flagged trainable (the policy's own tokens:
      calls and answers) or not (the prompt and tool observations). ``tokenize_trace`` turns it
      into ``input_ids`` and a ``loss_mask`` that is 1 exactly on the trainable segments' tokens
      and on the closing EOS; ``collate_traces`` pads a batch with ``labels = -100`` elsewhere.
    - Every piece of markup comes from the rollout markup (``render_prompt``, ``format_call``,
      ``format_observation``, ``format_answer``) and every observation is the real output of the
      tool, so a trace is exactly what the rollout engine would produce for the same actions.
    - Arith behaviours: "direct" (answer at once), "single_call" (one calculator call on the whole
      expression), "per_step" (one call per step of ``meta["steps"]``, each step's expression
      as recorded by the generator; falls back to "single_call" for one-step problems).
    - Kbqa behaviours: "direct" (no search), "search" (one search per hop that is not well
      known, with the hop's ``query``), "search_all" (one search per hop). A hop that is not
      searched is *recited*: the policy writes the fact's sentence, then goes on. Recitation
      turns recall into the continuation of a memorised sentence, which a tiny LM learns from
      the "text" traces (the world's well-known fact sentences, trained on every token); a bare
      question -> answer mapping for facts seen only as sentences does not transfer (the
      knowledge-extraction gap of small LMs). It costs tokens, not tool calls.
    - Behaviours are sampled per task from per-tier probabilities with a seeded RNG.

Deliberately not done: no reasoning text in arith traces (the tiny policy has no room for it),
no traces with malformed calls.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from lightning_paretopo.data.kbqa_world import RELATIONS
from lightning_paretopo.rewards.checkers import math_equal
from lightning_paretopo.rollout.markup import MarkupProtocol
from lightning_paretopo.tools.base import Tool
from lightning_paretopo.types import TaskExample

ARITH_BEHAVIOURS = ("direct", "single_call", "per_step")
KBQA_BEHAVIOURS = ("direct", "search", "search_all")


@dataclass(frozen=True)
class Trace:
    """One warm-start example.

    Attributes:
        segments: ``(text, trainable)`` pairs in order.
        behaviour: the behaviour it demonstrates ("direct", "single_call", ..., "text").
        tier: the task's difficulty tier ("" for plain text).
        n_calls: tool calls in the trace.
    """

    segments: tuple[tuple[str, bool], ...]
    behaviour: str
    tier: str = ""
    n_calls: int = 0

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)


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


def _call_segments(
    protocol: MarkupProtocol, tool: Tool, arguments: str
) -> tuple[list[tuple[str, bool]], str]:
    """The call (trainable) and its real observation (not trainable); also the tool's text."""
    result = tool(arguments)
    call = protocol.format_call(tool.name, arguments)
    observation = protocol.format_observation(tool.name, result)
    return [(call, True), (observation, False)], result.text


def arith_trace(
    task: TaskExample, behaviour: str, protocol: MarkupProtocol, calculator: Tool
) -> Trace:
    """A trace of ``task`` (an arith problem) solved by ``behaviour`` (see module docstring)."""
    if behaviour not in ARITH_BEHAVIOURS:
        raise ValueError(f"behaviour must be one of {ARITH_BEHAVIOURS}, got {behaviour!r}")
    steps = task.meta.get("steps", [])
    if behaviour == "per_step" and len(steps) < 2:
        behaviour = "single_call"
    answer = task.answer if isinstance(task.answer, str) else task.answer[0]
    segments: list[tuple[str, bool]] = [(protocol.render_prompt(task), False)]
    calls = {"direct": [], "single_call": [task.meta["expression"]]}.get(
        behaviour, [step["expr"] for step in steps]
    )
    output = answer
    for expr in calls:
        call_segments, output = _call_segments(protocol, calculator, expr)
        segments += call_segments
    if calls and not math_equal(output, answer):
        raise ValueError(
            f"task {task.id}: calculator gives {output!r} for {calls[-1]!r}, gold is {answer!r}"
        )
    segments.append((protocol.format_answer(answer), True))
    return Trace(tuple(segments), behaviour, str(task.meta.get("tier", "")), len(calls))


def kbqa_trace(task: TaskExample, behaviour: str, protocol: MarkupProtocol, search: Tool) -> Trace:
    """A trace of ``task`` (a kbqa question) solved by ``behaviour`` (see module docstring).

    Hops are taken in reasoning order; a hop that is not searched is recited (its fact sentence,
    trained on), a searched hop is a call on its ``query`` and the real search observation.
    """
    if behaviour not in KBQA_BEHAVIOURS:
        raise ValueError(f"behaviour must be one of {KBQA_BEHAVIOURS}, got {behaviour!r}")
    segments: list[tuple[str, bool]] = [(protocol.render_prompt(task), False)]
    n_calls = 0
    for hop in task.meta["hops"]:
        searched = behaviour == "search_all" or (behaviour == "search" and not hop["well_known"])
        if searched:
            segments += _call_segments(protocol, search, hop["query"])[0]
            n_calls += 1
        else:
            segments.append((fact_sentence(hop), True))
    answer = task.answer if isinstance(task.answer, str) else task.answer[0]
    segments.append((protocol.format_answer(answer), True))
    return Trace(tuple(segments), behaviour, str(task.meta.get("tier", "")), n_calls)


def fact_sentence(hop: Mapping[str, str]) -> str:
    """The world's sentence stating a hop's fact, e.g. "Zerco was founded by Sulas Pun."."""
    return RELATIONS[hop["relation"]].sentence.format(s=hop["subject"], o=hop["object"])


def text_trace(sentence: str) -> Trace:
    """Plain LM text (e.g. a well-known fact), trained on every token."""
    return Trace(((sentence, True),), "text")


def sample_behaviours(
    tasks: Sequence[TaskExample],
    probs: Mapping[str, Mapping[str, float]],
    seed: int,
) -> list[str]:
    """One behaviour per task, drawn from ``probs[tier]`` (``probs["*"]`` for other tiers)."""
    rng = random.Random(seed)
    out = []
    for task in tasks:
        tier = str(task.meta.get("tier", ""))
        table = probs.get(tier, probs.get("*"))
        if table is None:
            raise ValueError(f"behaviour_probs has no entry for tier {tier!r} and no '*' entry")
        names, weights = zip(*table.items(), strict=True)
        out.append(rng.choices(names, weights=weights)[0])
    return out
