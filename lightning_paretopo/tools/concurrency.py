"""``run_tool_calls``: run a batch's tool calls concurrently, results in input order.

Each call runs on its own daemon thread, at most ``max_workers`` at a time (a plain
``ThreadPoolExecutor`` would let abandoned, timed-out calls hold its workers forever), except
calls to a tool whose class sets ``inline = True``: those run in the calling thread, one after
another. That is for pure-Python, CPU-bound tools that bound their own time (``Calculator``,
``BM25Search``): the GIL runs their threads one at a time anyway, and starting a thread per call
cost more than the call (2 ms per start on a busy 2-core machine against microseconds for a
calculator call). ``timeout_s`` does not apply to inline calls.

Contract: never raises for a call. An unknown tool name gives ``ok=False``
(``error="unknown_tool"``); a tool that raises anyway gives ``ok=False`` (``error="tool_error"``);
a call still running ``timeout_s`` after it started gives ``ok=False`` (``error="timeout"``).

Deliberately not done: killing a timed-out call. Python threads cannot be stopped, so the
thread runs on in the background and its result is dropped; tools must bound themselves
(``PythonSandbox`` kills its process at its own deadline), and ``timeout_s`` is a backstop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping

from lightning_paretopo.tools.base import Tool, ToolResult


def run_tool_calls(
    calls: list[tuple[str, str]],
    tools: Mapping[str, Tool],
    max_workers: int = 8,
    timeout_s: float | None = None,
) -> list[ToolResult]:
    """Run ``(tool_name, text)`` calls on up to ``max_workers`` threads.

    Args:
        calls: one ``(tool name, tool input)`` per call, e.g. ``[("python", "print(1)")]``.
        tools: tool name -> tool.
        max_workers: most calls running at once (timed-out calls stop counting).
        timeout_s: per-call wall-clock limit measured from when the call starts; None = none.

    Returns:
        One ``ToolResult`` per call, in the order of ``calls``.
    """
    if max_workers < 1:
        raise ValueError(f"max_workers={max_workers!r}: must be >= 1")
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s={timeout_s!r}: must be > 0 or None")
    results: list[ToolResult | None] = [None] * len(calls)
    todo: list[int] = []
    for i, (name, _) in enumerate(calls):
        if name in tools:
            todo.append(i)
        else:
            available = ", ".join(sorted(tools)) or "none"
            text = f"Error: unknown tool {name!r}; available: {available}"
            results[i] = ToolResult(ok=False, text=text, error="unknown_tool")
    threaded = []
    for i in todo:
        if getattr(tools[calls[i][0]], "inline", False):
            results[i] = _call(calls[i], tools)
        else:
            threaded.append(i)
    if threaded:
        _run_concurrently(calls, tools, threaded, results, max_workers, timeout_s)
    return results  # type: ignore[return-value]  # every slot is filled by now


def _run_concurrently(
    calls: list[tuple[str, str]],
    tools: Mapping[str, Tool],
    todo: list[int],
    results: list[ToolResult | None],
    max_workers: int,
    timeout_s: float | None,
) -> None:
    """Fill ``results[i]`` for ``i`` in ``todo``; a timed-out call frees its slot at once."""
    finished: queue.SimpleQueue[tuple[int, ToolResult]] = queue.SimpleQueue()
    waiting = list(reversed(todo))
    running: dict[int, float] = {}  # call index -> monotonic start time
    while waiting or running:
        while waiting and len(running) < max_workers:
            i = waiting.pop()
            running[i] = time.monotonic()
            threading.Thread(
                target=_run_one, args=(i, calls[i], tools, finished), daemon=True
            ).start()
        wait_s = None
        if timeout_s is not None:
            wait_s = max(min(running.values()) + timeout_s - time.monotonic(), 0.0)
        try:
            i, result = finished.get(timeout=wait_s)
            if running.pop(i, None) is not None:  # else: already reported as timed out
                results[i] = result
        except queue.Empty:
            pass
        if timeout_s is not None:
            now = time.monotonic()
            for i, t0 in list(running.items()):
                if now - t0 >= timeout_s:
                    del running[i]
                    results[i] = ToolResult(
                        ok=False, text=f"Error: tool call timed out after {timeout_s:g} s.",
                        error="timeout", latency_s=now - t0,
                    )  # fmt: skip


def _call(call: tuple[str, str], tools: Mapping[str, Tool]) -> ToolResult:
    """Run one call; an exception becomes a ``tool_error`` result."""
    start = time.monotonic()
    name, text = call
    try:
        return tools[name](text)
    except Exception as exc:  # a tool broke its never-raise contract: report it, don't crash
        return ToolResult(
            ok=False, text=f"Error: tool {name!r} failed: {type(exc).__name__}: {exc}",
            error="tool_error", latency_s=time.monotonic() - start,
        )  # fmt: skip


def _run_one(
    i: int,
    call: tuple[str, str],
    tools: Mapping[str, Tool],
    finished: queue.SimpleQueue[tuple[int, ToolResult]],
) -> None:
    """Thread body: run one call and report ``(i, result)``."""
    finished.put((i, _call(call, tools)))
