"""Progress lines for runs whose stdout is not a terminal: the format, the rate, the switch."""

from __future__ import annotations

import io
import logging
import math
import sys
from types import SimpleNamespace

import pytest

from lightning_paretopo.callbacks import progress_log
from lightning_paretopo.callbacks.progress_log import (
    ProgressClock,
    ProgressLog,
    format_duration,
    logged_progress,
    progress_line,
)


def test_format_duration_pinned() -> None:
    assert [format_duration(s) for s in (0, 44.6, 108, 3599, 7380)] == [
        "0s", "45s", "1m48s", "59m59s", "2h03m",
    ]  # fmt: skip
    assert format_duration(math.inf) == "?" and format_duration(-1) == "?"


def test_progress_line_pinned() -> None:
    line = progress_line("train step", 120, 400, 60.0, metrics={"train/loss": 1.23456})
    assert line == "train step 120/400 (30%) | train/loss 1.235 | elapsed 1m00s | ETA 2m20s"
    # resumed at step 100: the rate is 20 steps in 60 s, so 280 steps left take 14 min
    assert progress_line("train step", 120, 400, 60.0, done_here=20).endswith("ETA 14m00s")
    assert progress_line("train step", 7, math.inf, 5.0) == "train step 7 | elapsed 5s"


def test_clock_logs_the_first_and_last_unit_then_by_time(monkeypatch) -> None:
    now = [0.0]
    monkeypatch.setattr(progress_log.time, "monotonic", lambda: now[0])
    clock = ProgressClock(every_s=30.0)
    due = []
    for step in range(1, 11):
        now[0] += 10.0  # 10 s per step
        due.append(clock.due(step, 10))
    assert [s for s, d in zip(range(1, 11), due, strict=True) if d] == [1, 4, 7, 10]
    assert not clock.due(10, 10)  # the same step twice (gradient accumulation): one line
    by_steps = ProgressClock(every_s=1e9, every_n=3)
    assert [s for s in range(1, 9) if by_steps.due(s, 100)] == [1, 4, 7]
    with pytest.raises(ValueError, match="every_s"):
        ProgressClock(every_s=-1)


@pytest.mark.parametrize(("tty", "always", "enabled"), [(False, False, True), (True, False, False),
                                                        (True, True, True)])  # fmt: skip
def test_progress_log_is_on_only_without_a_terminal(monkeypatch, tty, always, enabled) -> None:
    stdout = io.StringIO()
    stdout.isatty = lambda: tty
    monkeypatch.setattr(sys, "stdout", stdout)
    callback = ProgressLog(always=always)
    callback.setup(SimpleNamespace(is_global_zero=True), None, "fit")
    assert callback.enabled is enabled
    callback.setup(SimpleNamespace(is_global_zero=False), None, "fit")
    assert callback.enabled is False  # rank zero only


def test_logged_progress_yields_every_batch_and_logs_each_finished_one(caplog) -> None:
    with caplog.at_level(logging.INFO):
        out = list(logged_progress(["a", "b", "c"], "test-point batch", every_s=0.0))
    assert out == ["a", "b", "c"]
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" | ")[0] for line in lines] == [
        "test-point batch 1/3 (33%)",
        "test-point batch 2/3 (67%)",
        "test-point batch 3/3 (100%)",
    ]
    assert "ETA" in lines[0]
