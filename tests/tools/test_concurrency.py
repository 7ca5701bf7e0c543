"""run_tool_calls: concurrency, input order, unknown tools, raising tools, per-call timeouts."""

import threading
import time

import pytest

from lightning_paretopo.tools import (
    BM25Search,
    Calculator,
    PythonSandbox,
    RetrieverClient,
    ToolResult,
    run_tool_calls,
)


class _Sleepy:
    name = "sleepy"

    def __call__(self, text: str) -> ToolResult:
        time.sleep(float(text))
        return ToolResult(ok=True, text=f"slept {text}")


class _Broken:
    name = "broken"

    def __call__(self, text: str) -> ToolResult:
        raise RuntimeError("kaput")


def test_four_sleeping_python_calls_run_concurrently(best_mode: str) -> None:
    tools = {
        "python": PythonSandbox(timeout_s=5.0, isolation=best_mode),
        "calculator": Calculator(),
    }
    calls = [("python", f"import time\ntime.sleep(1)\nprint({i})") for i in range(4)]
    start = time.monotonic()
    results = run_tool_calls(calls, tools, max_workers=4)
    elapsed = time.monotonic() - start
    assert [r.text for r in results] == ["0\n", "1\n", "2\n", "3\n"]
    assert elapsed < 2.5  # sequentially it would take >= 4 s


def test_order_unknown_tools_and_exceptions() -> None:
    tools = {"calculator": Calculator(), "broken": _Broken(), "sleepy": _Sleepy()}
    calls = [
        ("sleepy", "0.2"),
        ("calculator", "2 + 2"),
        ("nope", "x"),
        ("broken", ""),
        ("sleepy", "0"),
    ]
    results = run_tool_calls(calls, tools)
    assert [r.text for r in results[:2]] == ["slept 0.2", "4"]
    assert results[2] == ToolResult(
        ok=False,
        text="Error: unknown tool 'nope'; available: broken, calculator, sleepy",
        error="unknown_tool",
    )
    assert (results[3].ok, results[3].error) == (False, "tool_error")
    assert "RuntimeError: kaput" in results[3].text
    assert results[4].text == "slept 0"
    assert run_tool_calls([], tools) == []


def test_per_call_timeout_frees_the_worker() -> None:
    """A hung call times out on its own clock and does not block the queued ones."""
    calls = [("sleepy", "3"), ("sleepy", "0.1"), ("sleepy", "0.1")]
    start = time.monotonic()
    results = run_tool_calls(calls, {"sleepy": _Sleepy()}, max_workers=1, timeout_s=0.5)
    elapsed = time.monotonic() - start
    assert [r.error for r in results] == ["timeout", None, None]
    assert 0.5 <= results[0].latency_s < 0.7
    assert elapsed < 1.2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        run_tool_calls([], {}, max_workers=0)
    with pytest.raises(ValueError, match="timeout_s"):
        run_tool_calls([], {}, timeout_s=0)


class _InlineProbe:
    """An inline tool that records the thread each call ran on."""

    name = "probe"
    inline = True

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self, text: str) -> ToolResult:
        if text == "raise":
            raise ValueError("bad")
        self.threads.append(threading.get_ident())
        return ToolResult(ok=True, text=text.upper())


def test_inline_tools_run_in_the_callers_thread_in_order() -> None:
    probe = _InlineProbe()
    tools = {"probe": probe, "sleepy": _Sleepy(), "calculator": Calculator()}
    calls = [("sleepy", "0.05"), ("probe", "a"), ("probe", "raise"), ("calculator", "6/2"),
             ("probe", "b")]  # fmt: skip
    started = threading.active_count()
    results = run_tool_calls(calls, tools)
    assert [r.text for r in results[:2]] == ["slept 0.05", "A"]
    assert (results[2].ok, results[2].error) == (False, "tool_error")
    assert "ValueError: bad" in results[2].text
    assert [r.text for r in results[3:]] == ["3", "B"]
    assert probe.threads == [threading.get_ident()] * 2
    assert threading.active_count() <= started + 1  # only the sleepy call got a thread


def test_the_shipped_in_process_tools_are_inline() -> None:
    assert Calculator.inline is True and BM25Search.inline is True
    for waits in (PythonSandbox, RetrieverClient):  # a subprocess, a socket: threads overlap them
        assert getattr(waits, "inline", False) is False
