"""math-verify under a CPU-time budget: a symbolic verdict that does not depend on machine load.

Contract:
    ``symbolic_equal(pred, gold, cpu_budget_s)`` returns math-verify's verdict
    (``parse`` of both sides wrapped in ``\\boxed{}``, then ``verify(gold, pred)``), or None
    when it was skipped, a side did not parse, or the budget ran out. It is skipped when either
    side is longer than ``MAX_VERIFY_CHARS`` (a rule on size, decided before any work) and when
    called off the main thread (only the main thread can install the signal handler).

    The budget is CPU time, not wall-clock time. ``signal.setitimer(ITIMER_PROF)`` counts the
    CPU seconds the process spends (user + system); they do not advance while the process waits
    for a core, so a busy machine slows a comparison down but cannot change its verdict.
    math-verify's own timeouts are wall-clock (``signal.alarm``): on a loaded machine they fired
    on valid answers ("Timeout during parsing") and turned correct answers into 0 reward. They
    are switched off here (``parsing_timeout=None``, ``timeout_seconds=None``), and the one-time
    warning math-verify logs about that is filtered out.

    ``DEFAULT_CPU_BUDGET_S`` (3 s, for both parses and the comparison together) is about 7x the
    slowest comparison measured on MATH-500 golds against equivalent rewrites and against other
    problems' golds (0.41 CPU s; most take under 0.05 s). A comparison that exhausts it is a
    pathological input (``10^{10^{10}}``, ``(10^{100})!``): the verdict is None and the event is
    counted. ``timeout_count()`` is the number of such events in this process (the training
    module logs it as ``train/checker_timeouts``).

Deliberately not done: no per-thread CPU clock (``ITIMER_PROF`` is process-wide, so CPU that
other threads of this process burn during a comparison counts against its budget; reward
scoring runs while the policy is idle). A single C call (one huge integer power) cannot be
interrupted before it returns. ``ITIMER_PROF`` and ``SIGPROF`` are borrowed during a comparison
and restored afterwards, so a profiler that uses them misses those ticks.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

MAX_VERIFY_CHARS = 400
"""Inputs longer than this skip math-verify (string fallback only)."""

DEFAULT_CPU_BUDGET_S = 3.0
"""CPU seconds one comparison (two parses and the verify) may use."""

_REARM_S = 0.05
"""After the budget, SIGPROF repeats every this many CPU seconds (in case code swallowed it)."""

_timeouts = 0  # comparisons that exhausted their budget in this process


class BudgetExceeded(BaseException):
    """Raised by the SIGPROF handler. A BaseException, so math-verify's ``except Exception``
    (which turns errors into "not equal") does not swallow it."""


def timeout_count() -> int:
    """Comparisons in this process whose CPU budget ran out (each scored as not equal)."""
    return _timeouts


def _on_sigprof(signum: int, frame: Any) -> None:
    raise BudgetExceeded


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Raise ``BudgetExceeded`` in the body once the process has used ``seconds`` of CPU.

    Main thread only. The previous SIGPROF handler and ITIMER_PROF setting are restored.
    """
    previous_handler = signal.signal(signal.SIGPROF, _on_sigprof)
    previous_timer = signal.setitimer(signal.ITIMER_PROF, seconds, _REARM_S)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_PROF, *previous_timer)  # (0, 0) disarms
        finally:  # a SIGPROF already pending may raise here: restore the handler regardless
            signal.signal(signal.SIGPROF, previous_handler)


def _not_the_timeout_disabled_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Timeout is disabled")


@functools.cache
def _math_verify() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(parse, verify)``, imported lazily (sympy is heavy); math-verify's warning that its
    own timeouts are off is filtered (the budget here replaces them)."""
    from math_verify import parse, verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_not_the_timeout_disabled_warning)
    return parse, verify


def _verdict(pred: str, gold: str) -> bool | None:
    parse, verify = _math_verify()
    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=None)
    pred_parsed = parse(f"\\boxed{{{pred}}}", parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return None
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


def symbolic_equal(pred: str, gold: str, cpu_budget_s: float = DEFAULT_CPU_BUDGET_S) -> bool | None:
    """math-verify's verdict on ``pred`` against ``gold`` within a CPU budget, else None.

    Args:
        pred: the prediction, wrappers already stripped.
        gold: the gold answer, wrappers already stripped.
        cpu_budget_s: CPU seconds for both parses and the comparison together (> 0).
    """
    global _timeouts
    if max(len(pred), len(gold)) > MAX_VERIFY_CHARS:
        return None
    if threading.current_thread() is not threading.main_thread():
        logger.debug("symbolic_equal: off the main thread, math-verify skipped")
        return None
    _math_verify()  # the first import takes about a second: not charged to the budget
    try:
        with cpu_budget(cpu_budget_s):
            return _verdict(pred, gold)
    except BudgetExceeded:
        _timeouts += 1
        level = logging.WARNING if _timeouts == 1 else logging.DEBUG
        logger.log(
            level,
            "math-verify used its %g CPU s budget on pred %.80r vs gold %.80r: scored as not "
            "equal (counted in train/checker_timeouts; later ones are logged at DEBUG)",
            cpu_budget_s, pred, gold,
        )  # fmt: skip
        return None


__all__ = [
    "DEFAULT_CPU_BUDGET_S",
    "MAX_VERIFY_CHARS",
    "BudgetExceeded",
    "cpu_budget",
    "symbolic_equal",
    "timeout_count",
]
