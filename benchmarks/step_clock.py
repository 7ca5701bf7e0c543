"""Turn-taking and per-step timing for ``step_vs_trl.py``: several training loops in one process,
interleaved step by step, each timed by parts.

Contract:
- ``Baton``: contestants (one thread each) take turns in a fixed order. A contestant holds the
  baton from the start of its turn to the end of one training step; everything it does between
  two steps (fetching the next batch, logging, set-up, tear-down) happens in its own turn, so
  no two contestants ever run at once and only the steps themselves are timed.
- ``StepClock``: ``begin(name)`` / ``end(name)`` bracket one step (wall and this thread's CPU
  time); while a step runs, ``add(part, seconds)`` and ``count(key, n)`` charge its record.
  Parts: generation, forward (with grad), backward, optimizer; ``rest`` is the step's wall time
  not charged to any part (rewards, advantages, loss arithmetic, clipping, bookkeeping).
- ``timed(fn, clock, part)`` wraps a callable; ``hook_forward(model, clock)`` charges forwards
  run with grad (and counts their token slots, padding included); ``hook_optimizer(opt, clock)``
  charges ``optimizer.step``.

Deliberately not done: GPU synchronisation (CPU timings only; on a GPU, times of asynchronous
kernels would land in whichever part synchronises first).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

PARTS = ("generation", "forward", "backward", "optimizer", "rest")


class Baton:
    """Round-robin turns among named contestants (see the module docstring)."""

    def __init__(self, names: list[str]) -> None:
        self.order = list(names)
        self.turn = 0
        self.cond = threading.Condition()

    def wait(self, name: str) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.order and self.order[self.turn] == name)

    def pass_on(self, name: str) -> None:
        with self.cond:
            self.turn = (self.order.index(name) + 1) % len(self.order)
            self.cond.notify_all()

    def leave(self, name: str) -> None:
        """``name`` is done: drop it from the order and hand the turn on."""
        with self.cond:
            i = self.order.index(name)
            self.order.pop(i)
            self.turn = i % len(self.order) if self.order else 0
            self.cond.notify_all()


class StepClock:
    """Per-step records of every contestant (module docstring)."""

    def __init__(self, baton: Baton) -> None:
        self.baton = baton
        self.records: dict[str, list[dict[str, float]]] = {}
        self.current: dict[str, float] | None = None
        self._start = (0.0, 0.0)

    def begin(self, name: str) -> None:
        self.current = {part: 0.0 for part in PARTS}
        self._start = (time.perf_counter(), time.thread_time())

    def end(self, name: str, last: bool = False) -> None:
        """Close the step, hand the baton on and wait for the next turn."""
        wall, cpu = time.perf_counter() - self._start[0], time.thread_time() - self._start[1]
        record = self.current or {}
        record["rest"] = wall - sum(record.get(part, 0.0) for part in PARTS[:-1])
        record |= {"wall": wall, "cpu": cpu}
        self.records.setdefault(name, []).append(record)
        self.current = None
        self.baton.pass_on(name)
        self.baton.wait(name)

    def add(self, part: str, seconds: float) -> None:
        if self.current is not None:
            self.current[part] = self.current.get(part, 0.0) + seconds

    def count(self, key: str, n: float) -> None:
        self.add(key, n)

    def medians(self, name: str, skip: int) -> dict[str, float]:
        """Median of every recorded field over the steps after the first ``skip``."""
        steps = self.records.get(name, [])[skip:]
        keys = sorted({k for step in steps for k in step})
        return {k: statistics.median(step.get(k, 0.0) for step in steps) for k in keys}


def timed(fn: Callable, clock: StepClock, part: str, after: Callable | None = None) -> Callable:
    """``fn`` charging its wall time to ``part``; ``after(result)`` may count things."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        clock.add(part, time.perf_counter() - t0)
        if after is not None:
            after(out)
        return out

    return wrapper


def hook_forward(model: torch.nn.Module, clock: StepClock) -> None:
    """Charge forwards run with grad to "forward" and count their token slots ("fed")."""
    starts: list[float] = []

    def pre(_module: Any, args: Any, kwargs: dict) -> None:
        starts.append(time.perf_counter())

    def post(_module: Any, args: Any, kwargs: dict, _out: Any) -> None:
        t0 = starts.pop()
        if torch.is_grad_enabled():
            clock.add("forward", time.perf_counter() - t0)
            ids = kwargs.get("input_ids", args[0] if args else None)
            clock.count("fed", float(ids.numel()) if ids is not None else 0.0)

    model.register_forward_pre_hook(pre, with_kwargs=True)
    model.register_forward_hook(post, with_kwargs=True)


def hook_optimizer(optimizer: torch.optim.Optimizer, clock: StepClock) -> None:
    """Charge ``optimizer.step`` to "optimizer"."""
    starts: list[float] = []
    optimizer.register_step_pre_hook(lambda *_: starts.append(time.perf_counter()))
    optimizer.register_step_post_hook(
        lambda *_: clock.add("optimizer", time.perf_counter() - starts.pop())
    )
