"""Rewards do not depend on machine load.

``math_equal`` must give the same verdicts on real answers on a quiet machine, next to
CPU-burning processes, and when every wall-clock timer runs out 1000x sooner. The last case is
a deterministic stand-in for a badly overloaded machine. Seen from the process, a second of
wall clock passes while it does a millisecond of work. Under math-verify's own wall-clock
timeouts (``signal.alarm``) those verdicts flipped to False. The CPU-time budget
(``rewards.symbolic``) does not see the wall clock.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lightning_paretopo.rewards import symbolic
from lightning_paretopo.rewards.checkers import math_equal
from lightning_paretopo.rewards.heads import Accuracy

SPEEDUP = 1000.0
"""How much faster than the process's work the wall clock runs in ``overloaded_wall_clock``."""

HARD_CODED = [  # real MATH-style answers that only math-verify can decide: (pred, gold, verdict)
    ("\\dfrac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}", True),
    ("\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{2}", False),
    ("\\left( 3, \\dfrac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    (
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 2/3 \\end{pmatrix}",
        "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\\\ \\frac{2}{3} \\end{pmatrix}",
        True,
    ),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", False),
    ("(-\\infty, -\\tfrac{1}{2}]", "(-\\infty,-\\frac{1}{2}]", True),
    ("[-2, 7)", "[-2,7]", False),
    ("x \\in [-2,7]", "[-2,7]", True),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("(x+1)^2", "x^2+2x+1", True),
    ("10\\pi", "\\pi \\cdot 10", True),
    ("1+274i", "274i+1", True),
]


def _math500_pairs(shared_data: Path, n: int) -> list[tuple[str, str]]:
    """Per MATH-500 gold: an equivalent rewrite (\\frac -> \\dfrac) and the next problem's gold."""
    lines = (shared_data / "math500" / "test.jsonl").read_text().splitlines()[: n + 1]
    golds = [json.loads(line)["answer"] for line in lines]
    pairs = []
    for gold, other in zip(golds, golds[1:], strict=False):
        if "\\frac" in gold:
            pairs.append((gold.replace("\\frac", "\\dfrac"), gold))
        pairs.append((other, gold))
    return pairs


def _gsm8k_pairs(shared_data: Path, n: int) -> list[tuple[str, str]]:
    """Per GSM8K gold: boxed with "$" and thousands commas, and the gold plus one."""
    lines = (shared_data / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]
    golds = [json.loads(line)["answer"].rsplit("####", 1)[1].strip() for line in lines]
    return [p for g in golds for p in [(f"\\boxed{{\\${int(g):,}}}", g), (str(int(g) + 1), g)]]


def _score(pairs: list[tuple[str, str]]) -> list[bool]:
    return [math_equal(pred, gold) for pred, gold in pairs]


@pytest.fixture
def real_pairs(shared_data: Path) -> list[tuple[str, str]]:
    """MATH-500 and GSM8K answers from ../shared/data (skips when it is absent)."""
    return _math500_pairs(shared_data, 40) + _gsm8k_pairs(shared_data, 20)


@contextmanager
def overloaded_wall_clock() -> Iterator[None]:
    """Every wall-clock alarm, timer and clock runs ``SPEEDUP`` times fast; CPU clocks do not."""
    real_setitimer = signal.setitimer

    def alarm(seconds: int) -> int:
        remaining, _ = real_setitimer(signal.ITIMER_REAL, seconds / SPEEDUP)
        return math.ceil(remaining * SPEEDUP)

    def setitimer(which: int, seconds: float, interval: float = 0.0) -> tuple[float, float]:
        if which != signal.ITIMER_REAL:
            return real_setitimer(which, seconds, interval)
        previous = real_setitimer(which, seconds / SPEEDUP, interval / SPEEDUP)
        return previous[0] * SPEEDUP, previous[1] * SPEEDUP

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(signal, "alarm", alarm)
        patch.setattr(signal, "setitimer", setitimer)
        for name in ("monotonic", "perf_counter", "time"):
            real = getattr(time, name)
            origin = real()
            patch.setattr(time, name, lambda r=real, o=origin: o + (r() - o) * SPEEDUP)
        try:
            yield
        finally:
            real_setitimer(signal.ITIMER_REAL, 0)


def _burn(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(range(10_000))


def test_hard_coded_answers_keep_their_verdicts_when_the_wall_clock_runs_out() -> None:
    pairs = [(p, g) for p, g, _ in HARD_CODED]
    expected = [verdict for _, _, verdict in HARD_CODED]
    assert _score(pairs) == expected
    before = symbolic.timeout_count()
    with overloaded_wall_clock():
        assert _score(pairs) == expected
    assert symbolic.timeout_count() == before


def test_real_answers_keep_their_verdicts_when_the_wall_clock_runs_out(
    real_pairs: list[tuple[str, str]],
) -> None:
    quiet = _score(real_pairs)
    assert any(quiet) and not all(quiet)
    with overloaded_wall_clock():
        loaded = _score(real_pairs)
    flipped = [pair for pair, q, v in zip(real_pairs, quiet, loaded, strict=True) if q != v]
    assert not flipped


def test_real_answers_score_the_same_next_to_cpu_burners(
    real_pairs: list[tuple[str, str]],
) -> None:
    pairs = real_pairs + [(p, g) for p, g, _ in HARD_CODED]
    quiet = _score(pairs)
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    burners = [context.Process(target=_burn, args=(stop,), daemon=True) for _ in range(2)]
    for burner in burners:
        burner.start()
    try:
        before = symbolic.timeout_count()
        loaded = _score(pairs)
    finally:
        stop.set()
        for burner in burners:
            burner.join(timeout=10)
    assert loaded == quiet
    assert symbolic.timeout_count() == before


def test_an_exhausted_cpu_budget_scores_false_and_is_counted() -> None:
    before = symbolic.timeout_count()
    assert math_equal("x+1", "1+x")  # math-verify is imported and warm; nothing counted
    assert symbolic.timeout_count() == before
    assert not math_equal("9^{9^{9}}", "5", timeout_s=0.2)  # math-verify alone runs for minutes
    assert symbolic.timeout_count() == before + 1


def test_the_budget_leaves_other_signal_handlers_and_timers_alone() -> None:
    def handler(signum: int, frame: object) -> None:
        raise AssertionError("the test's own SIGPROF handler must not run")

    previous = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_REAL, 100.0)  # someone else's pending alarm
    try:
        assert math_equal("\\dfrac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}")
        assert not math_equal("10^{10^{10}}", "5", timeout_s=0.2)
        assert signal.getsignal(signal.SIGPROF) is handler
        assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 90.0  # math-verify's alarm(0) cancelled it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous)


def test_accuracy_takes_a_cpu_budget_in_seconds() -> None:
    assert Accuracy(timeout_s=0.5).timeout_s == 0.5
    assert Accuracy().timeout_s == symbolic.DEFAULT_CPU_BUDGET_S
    for bad in (0, -1.0, True, "3"):
        with pytest.raises(ValueError, match="timeout_s"):
            Accuracy(timeout_s=bad)
