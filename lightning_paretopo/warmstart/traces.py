"""Warm-start traces: supervised examples of every tool behaviour, built with the real markup
and the real tools.

Contract:
    - A ``Trace`` is a list of text segments, each flagged trainable (the policy's own tokens:
      calls, recitations and answers) or not (the prompt and tool observations);
      ``warmstart.batches`` tokenizes it with a loss mask on the trainable tokens only.
    - Every piece of markup comes from the rollout markup (``render_prompt``, ``format_call``,
      ``format_observation``, ``format_answer``) and every observation is the real output of the
      tool, so a trace is what the rollout engine produces for the same actions.
    - Arith behaviours: "direct" (recite ``<expression>=<value>``, then answer), "single_call"
      (one calculator call on the whole expression), "per_step" (one call per step of
      ``meta["steps"]``; "single_call" for one-step problems).
    - Kbqa behaviours: "direct" (no search), "search" (one search per hop that is not well
      known, with the hop's ``query``), "search_all" (one search per hop). Every hop starts
      with the policy recalling the fact's sentence up to its object ("Zerco was founded by ");
      a recalled hop completes the sentence, a searched hop calls search right there. So the
      choice to search is made where the memory is read: a memorised fact's object competes
      with "<search>", and an unmemorised one leaves "<search>" (the trained default for
      unknown facts) on top.
    - "text" traces are plain facts, trained on: the one-digit tables (``arith_facts``, only
      the results trained on) and the world's well-known sentences, packed by ``fact_traces``.
    - Behaviours are sampled per task from per-tier probabilities with a seeded RNG.

Why direct answers recite: the eval's problems are held out (arith splits by expression hash,
so an easy test sum such as ``5+4`` never appears as a training question), and memorised
question -> answer pairs did not transfer to them: the tiny policy trained on easy direct
answers alone stayed far below the tool's accuracy on the held-out easy expressions. With the
tables as text and the recitation ``5+4=``, recall happens in the local context the table was
learned in and does transfer (the easy tier's acc_no_tool in the arith warm start's
``warmstart_eval.md``). Kbqa recites for the same reason: facts are learned as sentences and
asked as questions. Recitation costs tokens, not tool calls.

Deliberately not done: no free-form reasoning text, no traces with malformed calls.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    expression = task.meta["expression"]
    segments: list[tuple[str, bool]] = [(protocol.render_prompt(task), False)]
    if behaviour == "direct":  # recite the computation in the form of the fact table
        segments.append((f"{expression}={answer}", True))
    calls = {"direct": [], "single_call": [expression]}.get(
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

    Each hop, in reasoning order, starts with the policy recalling its fact sentence up to the
    object ("Zerco was founded by "). A recalled hop then states the object ("Sulas Pun.");
    a searched hop calls search on the hop's ``query`` instead and gets the real observation.
    """
    if behaviour not in KBQA_BEHAVIOURS:
        raise ValueError(f"behaviour must be one of {KBQA_BEHAVIOURS}, got {behaviour!r}")
    segments: list[tuple[str, bool]] = [(protocol.render_prompt(task), False)]
    n_calls = 0
    for hop in task.meta["hops"]:
        prefix, suffix = fact_sentence(hop).rsplit(hop["object"], 1)
        searched = behaviour == "search_all" or (behaviour == "search" and not hop["well_known"])
        if searched:
            call, observation = _call_segments(protocol, search, hop["query"])[0]
            segments += [(prefix + call[0], True), observation]
            n_calls += 1
        else:
            segments.append((prefix + hop["object"] + suffix, True))
    answer = task.answer if isinstance(task.answer, str) else task.answer[0]
    segments.append((protocol.format_answer(answer), True))
    return Trace(tuple(segments), behaviour, str(task.meta.get("tier", "")), n_calls)


def fact_sentence(hop: Mapping[str, str]) -> str:
    """The world's sentence stating a hop's fact, e.g. "Zerco was founded by Sulas Pun."."""
    return RELATIONS[hop["relation"]].sentence.format(s=hop["subject"], o=hop["object"])


def text_trace(sentence: str) -> Trace:
    """Plain LM text (e.g. a well-known fact), trained on every token."""
    return Trace(((sentence, True),), "text")


def arith_facts() -> list[str]:
    """The one-digit tables known by heart: ``a+b``, ``a*b`` (a, b in 0..9), ``a-b`` (b <= a).

    255 lines such as ``"7+8=15"``; they cover the easy tier and the products of the medium tier.
    """
    add = [f"{a}+{b}={a + b}" for a in range(10) for b in range(10)]
    sub = [f"{a}-{b}={a - b}" for a in range(10) for b in range(a + 1)]
    mul = [f"{a}*{b}={a * b}" for a in range(10) for b in range(10)]
    return add + sub + mul


def fact_traces(
    facts: Sequence[str], passes: int, per_trace: int, seed: int, results_only: bool = False
) -> list[Trace]:
    """``passes`` shuffled passes over ``facts``, packed ``per_trace`` per "\n"-joined text trace.

    With ``results_only`` each fact is ``lhs=rhs`` and only ``rhs`` is trained on: the operands
    are random draws, and their unpredictable tokens only add gradient noise.
    """
    if passes < 0 or per_trace < 1:
        raise ValueError(f"need passes >= 0 and per_trace >= 1, got {passes} and {per_trace}")
    rng = random.Random(seed)
    traces = []
    for _ in range(passes):
        order = list(facts)
        rng.shuffle(order)
        for i in range(0, len(order), per_trace):
            segments: list[tuple[str, bool]] = []
            for j, fact in enumerate(order[i : i + per_trace]):
                sep = "\n" if j else ""
                if results_only:
                    lhs, rhs = fact.rsplit("=", 1)
                    segments += [(f"{sep}{lhs}=", False), (rhs, True)]
                else:
                    segments.append((sep + fact, True))
            traces.append(Trace(tuple(segments), "text"))
    return traces


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
