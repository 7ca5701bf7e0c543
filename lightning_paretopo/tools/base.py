"""The one ``Tool`` protocol every tool implements, and its ``ToolResult``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns. Tools never raise on bad model input: they return ``ok=False``.

    Attributes:
        ok: True when the call ran and produced a result.
        text: the observation shown to the policy (the result, or an error message).
        error: a short machine-readable error kind when ``ok`` is False, e.g. ``"timeout"``.
        latency_s: wall-clock seconds the call took.
    """

    ok: bool
    text: str
    error: str | None = None
    latency_s: float = 0.0


@runtime_checkable
class Tool(Protocol):
    """A callable tool: ``tool(text) -> ToolResult``. ``name`` is the markup tag it answers.

    Optional class attribute ``inline`` (default False): True runs the tool's calls in the
    caller's thread, one after another, rather than one thread per call (``concurrency.py``);
    for pure-Python tools that bound their own time."""

    name: str

    def __call__(self, text: str) -> ToolResult: ...
