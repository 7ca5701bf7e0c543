"""Parse a sampled turn and run tool calls so that no row's failure stops the batch.

Contract: ``parse_turn_safely`` decodes one row's sampled ids (a trailing EOS id dropped) and
parses them with the markup; a parser that raises (breaking its never-raise contract) gives an
"invalid" turn plus a ``ToolResult`` with error "parse_error". ``run_calls_safely`` runs the
calls through ``run_tool_calls`` (a tool that raises gives error "tool_error"); should the
runner itself raise, each call runs alone, so only a failing call's row gets the error (calls
that already ran run again: tools are stateless). ``CAUGHT_ERRORS`` are those two error kinds,
which the engine counts in ``RolloutBatch.rollout_errors``.

Not done here: deciding whether a row goes on, or formatting observations (``engine``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lightning_paretopo.rollout.markup import MarkupProtocol, ParsedTurn
from lightning_paretopo.tools import run_tool_calls
from lightning_paretopo.tools.base import Tool, ToolResult

log = logging.getLogger(__name__)

#: ``ToolResult.error`` of a turn whose parser ("parse_error") or tool ("tool_error") raised.
CAUGHT_ERRORS = frozenset({"parse_error", "tool_error"})


def parse_turn_safely(
    protocol: MarkupProtocol, tokenizer: Any, ids: list[int], eos_ids: set[int]
) -> tuple[ParsedTurn, ToolResult | None]:
    """One row's turn, and None; or, when parsing raises, an invalid turn and its error."""
    text_ids = ids[:-1] if ids and ids[-1] in eos_ids else ids
    try:
        return protocol.parse_turn(tokenizer.decode(text_ids)), None
    except Exception as exc:  # a parser broke its never-raise contract: this row only
        log.warning("parse_turn raised %s: %.200s", type(exc).__name__, exc)
        why = f"unreadable turn ({type(exc).__name__})"
        return ParsedTurn("invalid", error=why), ToolResult(False, why, "parse_error")


def run_calls_safely(
    calls: list[tuple[str, str]], tools: Mapping[str, Tool], max_workers: int
) -> list[ToolResult]:
    """``run_tool_calls`` of (tool name, arguments) pairs, one result per call, in order;
    falls back to one call at a time when the runner itself raises (see the module docstring)."""
    try:
        return run_tool_calls(calls, tools, max_workers=max_workers)
    except Exception as exc:
        log.warning("run_tool_calls raised %s; running calls one by one", type(exc).__name__)
    results = []
    for name, text in calls:
        try:
            results.append(run_tool_calls([(name, text)], tools, max_workers=1)[0])
        except Exception as exc:
            why = f"Error: tool {name!r} failed: {type(exc).__name__}"
            results.append(ToolResult(False, why, "tool_error"))
    return results
