"""Hermes/Qwen-style tool calls for instruct models, rendered by the tokenizer's chat template.

Contract:
- A call is the assistant text ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``
  (Qwen2.5 / hermes). ``</tool_call>`` ends the turn; so do ``</answer>`` and EOS.
- The prompt is ``apply_chat_template([system, user], tools=<schemas of task.tools>,
  add_generation_prompt=True, tokenize=False)``; the engine tokenizes it without adding special
  tokens (the template carries them). The system message is ``system_prompt`` then
  ``answer_instruction`` (both configurable: ``rollout.chat``).
- Where the schemas go is decided once, at construction (``tools_in``): "template" passes them
  as ``tools=``; "system" writes them into the system message in the hermes format, as Qwen2.5's
  template does (``chat_prompt.hermes_tools_block``), for templates that drop ``tools=``
  (SmolLM2's); "auto" (default) renders with and without ``tools=`` and takes "template" when
  the template shows them, else "system", and logs (INFO) which.
- The observation appended after a call is exactly what the template renders for a tool
  message plus the next assistant generation prompt: the string difference between rendering
  ``[system, user, assistant(call), tool(result)]`` with a generation prompt and rendering
  ``[system, user]`` with a generation prompt followed by the call text. The prefix is checked;
  a template whose rendering of earlier turns changes once a tool message follows (e.g. one that
  strips past reasoning) raises ValueError, because the policy's sampled tokens could then not
  be kept as they are.
- ``parse_turn``'s "answer" kind and ``extract_answer``: ``<answer>...</answer>`` in the
  assistant text, else the last ``\\boxed{...}`` of a turn that ended without a call (braces
  matched). They do not score: the reward heads read the final answer in the formats the
  config names (``rewards.Accuracy``'s ``answer_formats``), and the engine's ``truncated``
  means a budget cut, whatever the answer's format.
- Bad JSON (including JSON nested too deeply or an integer too long for Python), a missing or
  non-string "name", an unknown tool name, or missing arguments give an "invalid" turn with an
  error observation: ``parse_turn`` never raises, and takes time linear in the text.

Deliberately not done: one call per turn (a second ``<tool_call>`` after the first closing tag
is never generated, generation stops there); the observation is computed against a neutral
two-message conversation, which is exact for templates whose tool-message rendering depends
only on the preceding assistant message (Qwen2.5, hermes).
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Mapping
from itertools import accumulate, repeat
from typing import Any

from lightning_paretopo.rollout.chat_prompt import (
    DEFAULT_ANSWER_INSTRUCTION,
    DEFAULT_SYSTEM_PROMPT,
    TOOLS_IN,
    hermes_tools_block,
    system_text,
    template_renders_tools,
    text_argument,
)
from lightning_paretopo.rollout.markup import ParsedTurn, first_stop, observation_text
from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.types import TaskExample

log = logging.getLogger(__name__)

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"


def _schema(name: str, description: str, arg: str, arg_description: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {arg: {"type": "string", "description": arg_description}},
                "required": [arg],
            },
        },
    }


#: JSON schemas (OpenAI function format) of the project's three tools.
DEFAULT_TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "calculator": _schema(
        "calculator", "Evaluate an arithmetic expression.", "expression", "e.g. 3*(4+5)"
    ),
    "python": _schema("python", "Run Python code and return its stdout.", "code", "the code"),
    "search": _schema("search", "Search the corpus; return the top passages.", "query", "query"),
}


_BRACE_STEP = {"{": 1, "}": -1}


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` with braces matched, or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i = start + len("\\boxed")  # the opening brace
    depths = accumulate(map(_BRACE_STEP.get, text[i:], repeat(0)))  # brace depth after each char
    try:  # the first return to depth 0 is the matching brace; C-level iteration, no Python loop
        j = i + operator.indexOf(depths, 0)
    except ValueError:
        return None
    return text[i + 1 : j].strip()


def _load_json(body: str) -> tuple[Any, str | None]:
    """``(payload, None)``, or ``(None, why)`` when ``body`` is no JSON that Python can hold."""
    try:
        return json.loads(body), None
    except json.JSONDecodeError as err:
        return None, err.msg
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:  # an integer longer than sys.get_int_max_str_digits()
        return None, "number too long"


def _argument_text(args: Any) -> str | None:
    """A call's argument as text (JSON values other than strings via ``str``), or None when
    it cannot be written out (nested too deeply)."""
    if isinstance(args, str):
        return args
    try:
        return str(args)
    except (RecursionError, ValueError):
        return None


class ChatTemplateProtocol:
    """Tool calls as ``<tool_call>{json}</tool_call>``, rendered with the chat template.

    Args:
        tokenizer: a tokenizer with a chat template that renders the "tool" role.
        tool_schemas: tool name -> JSON schema (OpenAI function format), added to (or
            replacing) ``DEFAULT_TOOL_SCHEMAS``. Each schema's first required parameter is the
            tool's text argument.
        system_prompt: the system message's first part; None (with no answer instruction
            and no schemas in it) leaves the system message to the template.
        answer_instruction: how to write the final answer, after ``system_prompt``; keep it in
            line with the heads' ``answer_formats``. None: no instruction.
        tools_in: "auto", "template" or "system" (module docstring).
    """

    add_special_tokens_to_prompt = False

    def __init__(
        self,
        tokenizer: Any,
        tool_schemas: Mapping[str, dict[str, Any]] | None = None,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        answer_instruction: str | None = DEFAULT_ANSWER_INSTRUCTION,
        tools_in: str = "auto",
    ) -> None:
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError("tokenizer has no chat_template; use TaggedProtocol or set one")
        if tools_in not in TOOLS_IN:
            raise ValueError(f"rollout.chat.tools_in must be one of {TOOLS_IN}, got {tools_in!r}")
        self.tokenizer = tokenizer
        self.tool_schemas = {**DEFAULT_TOOL_SCHEMAS, **(tool_schemas or {})}
        self.system_prompt = system_prompt
        self.answer_instruction = answer_instruction
        self._arg_names = {
            name: text_argument(name, schema) for name, schema in self.tool_schemas.items()
        }
        self.tools_in = self._resolve_tools_in(tools_in)

    def _resolve_tools_in(self, tools_in: str) -> str:
        """``tools_in`` with "auto" decided by rendering the template (and logged)."""
        why = "set by rollout.chat.tools_in"
        if tools_in == "auto":
            schemas = list(self.tool_schemas.values())
            shown = template_renders_tools(self.tokenizer, self._messages("Q", []), schemas)
            tools_in = "template" if shown else "system"
            why = "the chat template " + ("renders tools=" if shown else "ignores tools=")
        where = "the chat template (tools=)" if tools_in == "template" else "the system prompt"
        log.info("chat protocol: tool schemas go in %s: %s", where, why)
        return tools_in

    @property
    def stop_strings(self) -> list[str]:
        """``</tool_call>`` and ``</answer>`` (EOS, e.g. ``<|im_end|>``, is the engine's)."""
        return [CALL_CLOSE, "</answer>"]

    def _messages(self, prompt: str, tools: list[dict[str, Any]] | None) -> list[dict[str, str]]:
        """[system?, user]; the hermes block joins the system text when tools go there."""
        block = hermes_tools_block(tools) if tools and self.tools_in == "system" else None
        system = system_text(self.system_prompt, self.answer_instruction, block)
        head = [] if system is None else [{"role": "system", "content": system}]
        return [*head, {"role": "user", "content": prompt}]

    def _render(self, messages: list[dict[str, str]], tools: list[dict[str, Any]] | None) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, tokenize=False
        )

    def render_prompt(self, task: TaskExample, tokenizer: Any | None = None) -> str:
        """The chat-template prompt, offering the schemas of ``task.tools`` that are known."""
        if tokenizer is not None and tokenizer is not self.tokenizer:
            raise ValueError("tokenizer must be the one this ChatTemplateProtocol was built with")
        tools = [self.tool_schemas[t] for t in task.tools if t in self.tool_schemas] or None
        messages = self._messages(task.prompt, tools)
        return self._render(messages, tools if self.tools_in == "template" else None)

    def format_call(self, tool_name: str, arguments: str) -> str:
        """``<tool_call>\\n{"name": ..., "arguments": {<arg>: arguments}}\\n</tool_call>``."""
        if tool_name not in self._arg_names:
            raise ValueError(f"tool_name {tool_name!r} unknown; known: {sorted(self._arg_names)}")
        payload = {"name": tool_name, "arguments": {self._arg_names[tool_name]: arguments}}
        return f"{CALL_OPEN}\n{json.dumps(payload, ensure_ascii=False)}\n{CALL_CLOSE}"

    def format_observation(self, tool_name: str | None, result: ToolResult) -> str:
        """The template's tool message plus the next assistant generation prompt."""
        call = self.format_call(tool_name, "x") if tool_name in self._arg_names else "call"
        text = observation_text(result)
        base = self._messages("Q", None)
        prefix = self._render(base, None) + call
        tool_msg = {"role": "tool", "name": tool_name or "unknown", "content": text}
        full = self._render([*base, {"role": "assistant", "content": call}, tool_msg], None)
        if not full.startswith(prefix):
            raise ValueError(
                "chat template re-renders earlier turns once a tool message follows; the "
                "observation cannot be appended to the sampled tokens. Use a template that "
                "renders assistant content verbatim (e.g. Qwen2.5)."
            )
        return full[len(prefix) :]

    def format_answer(self, answer: str) -> str:
        """``<answer>answer</answer>``."""
        return f"<answer>{answer}</answer>"

    def _parse_call(self, body: str) -> ParsedTurn:
        payload, why = _load_json(body)
        if why is not None:
            return ParsedTurn("invalid", error=f"bad JSON in tool call: {why}")
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str):
            return ParsedTurn("invalid", error='tool call needs a string "name"')
        if name not in self._arg_names:
            return ParsedTurn("invalid", error=f"unknown tool {name!r}")
        args = payload.get("arguments")
        if isinstance(args, dict):
            key = self._arg_names[name]
            args = args.get(key, next(iter(args.values())) if len(args) == 1 else None)
        if args is None or (isinstance(args, str) and not args.strip()):
            return ParsedTurn("invalid", tool=name, error="tool call needs arguments")
        text = _argument_text(args)
        if text is None:
            return ParsedTurn(
                "invalid", tool=name, error="bad JSON in tool call: nested too deeply"
            )
        return ParsedTurn("call", tool=name, arguments=text)

    def parse_turn(self, text: str) -> ParsedTurn:
        """Read one turn's text. Never raises."""
        stop = first_stop(text, self.stop_strings)
        if stop is not None and stop[1] == CALL_CLOSE:
            head = text[: stop[0]]
            start = head.rfind(CALL_OPEN)
            if start < 0:
                return ParsedTurn("invalid", error=f"{CALL_CLOSE} without {CALL_OPEN}")
            return self._parse_call(head[start + len(CALL_OPEN) :].strip())
        answer = self.extract_answer(text)
        if answer is not None:
            return ParsedTurn("answer", answer=answer)
        if CALL_OPEN in text:
            return ParsedTurn("invalid", error=f"unclosed {CALL_OPEN}")
        return ParsedTurn("none")

    def extract_answer(self, completion: str) -> str | None:
        """The last ``<answer>...</answer>``, else the last ``\\boxed{...}``, else None."""
        start = completion.rfind("<answer>")
        end = completion.find("</answer>", start)
        if start >= 0 and end >= 0:
            return completion[start + len("<answer>") : end].strip()
        return _last_boxed(completion)
