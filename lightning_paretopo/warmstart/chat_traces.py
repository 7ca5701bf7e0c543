"""Warm-start traces from GSM8K's worked solutions: each calculator annotation becomes a call.

Contract:
    - GSM8K solutions mark every computation as ``<<expression=value>>`` followed by the value
      in the text ("48/2 = <<48/2=24>>24 clips"). ``solution_steps`` splits a solution at those
      marks into ``Step(text_before, expression, value)`` plus the text after the last one.
    - ``gsm8k_trace(task, protocol, calculator)`` renders one trace through ``protocol`` (the
      markup the rollouts use, e.g. the chat model's ``ChatTemplateProtocol``): the prompt
      (not trained on), then per step the solution text up to the mark followed by a calculator
      call (one trainable turn) and the calculator's real observation (not trained on); the
      text after the mark continues in the next turn (it starts with the value, copied from
      the observation); the final text ends with ``protocol.format_answer(answer)``.
    - The calculator's output must equal each mark's value (``math_equal``). A solution with no
      marks, a mark the calculator refuses (``5,000``, ``x``), a disagreeing value, or more than
      ``max_calls`` marks gives None (no trace): a trace shows only what a rollout would see.

Deliberately not done: no rewriting of the solutions' prose, no marks merged into one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lightning_paretopo.rewards.checkers import math_equal
from lightning_paretopo.rollout.markup import MarkupProtocol
from lightning_paretopo.tools.base import Tool
from lightning_paretopo.types import TaskExample
from lightning_paretopo.warmstart.traces import Trace

ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
"""A GSM8K calculator mark: group 1 the expression, group 2 the value."""


@dataclass(frozen=True)
class Step:
    """One computation of a worked solution: the text before its mark, the expression, value."""

    text: str
    expression: str
    value: str


def solution_steps(solution: str) -> tuple[list[Step], str]:
    """``(steps, tail)``: the solution split at its ``<<expr=value>>`` marks (module docstring)."""
    steps, start = [], 0
    for match in ANNOTATION.finditer(solution):
        steps.append(Step(solution[start : match.start()], match[1].strip(), match[2].strip()))
        start = match.end()
    return steps, solution[start:]


def gsm8k_trace(
    task: TaskExample, protocol: MarkupProtocol, calculator: Tool, max_calls: int = 3
) -> Trace | None:
    """A trace of GSM8K ``task`` that calls ``calculator`` at every mark, or None (docstring)."""
    steps, tail = solution_steps(str(task.meta.get("solution", "")))
    if not steps or len(steps) > max_calls:
        return None
    segments: list[tuple[str, bool]] = [(protocol.render_prompt(task), False)]
    for step in steps:
        result = calculator(step.expression)
        if not result.ok or not math_equal(result.text, step.value):
            return None
        call = protocol.format_call(calculator.name, step.expression)
        segments += [(step.text + call, True)]
        segments += [(protocol.format_observation(calculator.name, result), False)]
    answer = task.answer if isinstance(task.answer, str) else task.answer[0]
    final = tail.rstrip() + "\n" + protocol.format_answer(answer)
    return Trace(tuple(segments + [(final, True)]), "gsm8k_calls", "gsm8k", len(steps))
