"""Tool-call markup: the one place that owns the syntax of calls, observations and answers.

Contract (``TaggedProtocol``, the default, used by the tiny character-level policy)::

    Q: What is 3*4?\\n<calc>3*4</calc><result>12</result><answer>12</answer>

- ``render_prompt`` gives ``"Q: {prompt}\\n"``; no system text and no tool instructions (the
  tiny model learns the format from the warm start). The engine tokenizes it with
  ``add_special_tokens=True`` (the tiny tokenizer prepends ``<bos>``).
- A call is ``<tag>arguments</tag>`` with tag -> tool: calc -> "calculator", python -> "python",
  search -> "search". It is answered by ``<result>``, ``<output>`` and ``<information>``
  respectively. Failed or malformed calls are answered ``<result>error: ...</result>`` (in the
  tool's own observation tag when the tool is known; a tool's own "Error: " prefix is not
  repeated).
- The final answer is ``<answer>...</answer>``.
- A turn ends at the first stop string (a call's closing tag or ``</answer>``), at EOS or at a
  budget. ``parse_turn`` reads one turn's text and never raises: anything malformed (an
  unclosed tag at a budget, a closing tag without its opening, empty arguments, an unknown
  ``<foo>...</foo>`` pair) comes back as kind "invalid" with an error message that the engine
  shows the policy as an observation. Parsing takes time linear in the text, whatever the
  text (many unclosed tags included), so hostile model output cannot stall a rollout.

Deliberately not done: no whitespace or newlines between turns (every character costs a token
for the character-level policy); no nesting (the arguments are the raw text between the last
opening tag and the first closing tag); observations are not escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.types import TaskExample

TurnKind = Literal["call", "answer", "invalid", "none"]

#: call tag -> tool name, and tool name -> observation tag, of ``TaggedProtocol``.
CALL_TAGS: dict[str, str] = {"calc": "calculator", "python": "python", "search": "search"}
OBSERVATION_TAGS: dict[str, str] = {
    "calculator": "result",
    "python": "output",
    "search": "information",
}
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_TAG = re.compile(r"<(/?[A-Za-z_][\w-]*)>")  # an opening or closing tag; group 1: "/"? + name


@dataclass(frozen=True)
class ParsedTurn:
    """What one policy turn asked for.

    Attributes:
        kind: "call" (a well-formed tool call), "answer" (a final answer), "invalid" (a
            malformed call; ``error`` says why) or "none" (plain text: neither).
        tool: the tool name of a call (also of an invalid call when it is known), else None.
        arguments: the call's argument text ("" unless kind is "call").
        answer: the final answer text when kind is "answer", else None.
        error: why the turn is invalid (kind "none" may carry a note too, e.g. an unclosed
            ``<answer>``), else None.
    """

    kind: TurnKind
    tool: str | None = None
    arguments: str = ""
    answer: str | None = None
    error: str | None = None


@runtime_checkable
class MarkupProtocol(Protocol):
    """What the rollout engine needs from a markup. ``TaggedProtocol`` is the reference."""

    #: whether the engine tokenizes the rendered prompt with the tokenizer's special tokens.
    add_special_tokens_to_prompt: bool

    @property
    def stop_strings(self) -> list[str]: ...

    def render_prompt(self, task: TaskExample, tokenizer: object | None = None) -> str: ...

    def format_call(self, tool_name: str, arguments: str) -> str: ...

    def format_observation(self, tool_name: str | None, result: ToolResult) -> str: ...

    def format_answer(self, answer: str) -> str: ...

    def parse_turn(self, text: str) -> ParsedTurn: ...

    def extract_answer(self, completion: str) -> str | None: ...


def observation_text(result: ToolResult) -> str:
    """The text shown for a result: as is when ok, else ``"error: <message>"`` (one prefix,
    whatever the tool's own ``"Error: "`` convention)."""
    if result.ok:
        return result.text
    message = result.text
    if message[:6].lower() == "error:":
        message = message[6:].lstrip()
    return f"error: {message}"


def first_stop(text: str, stop_strings: list[str]) -> tuple[int, str] | None:
    """(index, stop string) of the earliest stop string in ``text``, or None."""
    best: tuple[int, str] | None = None
    for stop in stop_strings:
        idx = text.find(stop)
        if idx >= 0 and (best is None or idx < best[0]):
            best = (idx, stop)
    return best


def first_closed_tag(text: str) -> str | None:
    """Name of the leftmost ``<name>`` that a later ``</name>`` closes, or None.

    The tag of the first match of ``<(name)>.*?</\\1>``, found in linear time: that lazy regex
    rescans the rest of the text from every unclosed opening tag (quadratic).
    """
    if "</" not in text:  # the common case, at C speed
        return None
    tags = _TAG.findall(text)  # in text order, e.g. ["a", "/b"] (tags never overlap)
    last_close = {tag[1:]: i for i, tag in enumerate(tags) if tag[0] == "/"}  # the last wins
    for i, tag in enumerate(tags):
        if last_close.get(tag, -1) > i:  # a closing tag "/x" is never a key
            return tag
    return None


def last_answer(text: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` (unstripped), or None.

    The last match of ``<answer>(.*?)</answer>``, found in linear time (that lazy regex
    rescans the rest of the text from every unclosed ``<answer>``): walking the closing tags
    from the right, the first one with an opening tag after the closing tag before it ends the
    last match, which starts at the first such opening tag.
    """
    close = text.rfind(ANSWER_CLOSE)
    while close >= 0:
        before = text.rfind(ANSWER_CLOSE, 0, close)
        opening = text.find(ANSWER_OPEN, 0 if before < 0 else before + len(ANSWER_CLOSE), close)
        if opening >= 0:
            return text[opening + len(ANSWER_OPEN) : close]
        close = before
    return None


class TaggedProtocol:
    """XML-like tags for calls, observations and answers (see the module docstring).

    Args:
        max_observation_chars: cut a tool's text to this many characters (with a trailing
            "..."), or None to keep it whole. Cut long search results for small budgets.
    """

    add_special_tokens_to_prompt = True

    def __init__(self, max_observation_chars: int | None = None) -> None:
        if max_observation_chars is not None and max_observation_chars < 4:
            raise ValueError(
                f"max_observation_chars must be None or >= 4, got {max_observation_chars}"
            )
        self.max_observation_chars = max_observation_chars
        self._tool_to_tag = {tool: tag for tag, tool in CALL_TAGS.items()}

    @property
    def stop_strings(self) -> list[str]:
        """The strings that end a turn: every call's closing tag, then ``</answer>``."""
        return [f"</{tag}>" for tag in CALL_TAGS] + [ANSWER_CLOSE]

    def render_prompt(self, task: TaskExample, tokenizer: object | None = None) -> str:
        """``"Q: {prompt}\\n"``; ``tokenizer`` is accepted for interface parity and unused."""
        return f"Q: {task.prompt}\n"

    def format_call(self, tool_name: str, arguments: str) -> str:
        """``<tag>arguments</tag>`` for a known tool name; ValueError otherwise."""
        if tool_name not in self._tool_to_tag:
            raise ValueError(
                f"tool_name {tool_name!r} has no tag; known tools: {sorted(self._tool_to_tag)}"
            )
        tag = self._tool_to_tag[tool_name]
        return f"<{tag}>{arguments}</{tag}>"

    def format_observation(self, tool_name: str | None, result: ToolResult) -> str:
        """The observation answering a call: ``<result>3</result>``, ``<result>error: ...</result>``.

        ``tool_name`` may be None or unknown (an invalid call): then the ``<result>`` tag is used.
        """
        tag = OBSERVATION_TAGS.get(tool_name or "", "result")
        text = observation_text(result)
        limit = self.max_observation_chars
        if limit is not None and len(text) > limit:
            text = text[: limit - 3] + "..."
        return f"<{tag}>{text}</{tag}>"

    def format_answer(self, answer: str) -> str:
        """``<answer>answer</answer>``."""
        return f"{ANSWER_OPEN}{answer}{ANSWER_CLOSE}"

    def parse_turn(self, text: str) -> ParsedTurn:
        """Read one turn's text (up to and maybe past its stop string). Never raises."""
        stop = first_stop(text, self.stop_strings)
        if stop is not None:
            idx, closing = stop
            head = text[:idx]
            opening = "<" + closing[2:]
            start = head.rfind(opening)
            tool = CALL_TAGS.get(closing[2:-1])
            if start < 0:
                return ParsedTurn("invalid", tool=tool, error=f"{closing} without {opening}")
            body = head[start + len(opening) :].strip()
            if tool is None:  # </answer>
                return ParsedTurn("answer", answer=body)
            if not body:
                return ParsedTurn("invalid", tool=tool, error=f"empty arguments in {opening}")
            return ParsedTurn("call", tool=tool, arguments=body)
        for tag, tool in CALL_TAGS.items():
            if f"<{tag}>" in text:
                return ParsedTurn("invalid", tool=tool, error=f"unclosed <{tag}> tag")
        # no call tag and no </answer> here, so a closed pair is always an unknown tag
        tag = first_closed_tag(text)
        if tag is not None:
            return ParsedTurn("invalid", error=f"unknown tag <{tag}>")
        if ANSWER_OPEN in text:  # not a call: the row simply has no final answer
            return ParsedTurn("none", error="unclosed <answer> tag")
        return ParsedTurn("none")

    def extract_answer(self, completion: str) -> str | None:
        """The last ``<answer>...</answer>`` of a completion (stripped), or None."""
        found = last_answer(completion)
        return None if found is None else found.strip()
