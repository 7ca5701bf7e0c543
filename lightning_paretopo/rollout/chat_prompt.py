"""The chat protocol's system message: its text, and where the tool schemas go.

Contract:
    - ``template_renders_tools(tokenizer, messages, schemas)``: True when the tokenizer's chat
      template shows tool schemas passed as ``tools=``: the rendering with them differs from
      the one without, and names every tool. A template that raises on ``tools=`` does not.
      Qwen2.5's template renders them; SmolLM2's (and many others') silently drops them.
    - ``hermes_tools_block(schemas)``: the schemas as Qwen2.5's template writes them into its
      system message (the hermes format): a ``<tools></tools>`` block with one JSON schema per
      line, then how to call (``<tool_call>{"name": ..., "arguments": ...}</tool_call>``).
    - ``text_argument(name, schema)``: the schema's first required parameter, the one a call's
      text goes to; ValueError naming ``rollout.chat.tool_schemas`` when there is none.
    - ``system_text(system_prompt, answer_instruction, tools_block)``: the non-empty parts
      joined (the instruction after a space, the block after a blank line, as Qwen's template
      does), or None when all are empty.

Deliberately not done: other tool formats than hermes (a template that renders ``tools=`` is
used as it is, whatever its format).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Call a tool when it helps."
DEFAULT_ANSWER_INSTRUCTION = "Put the final answer in <answer></answer>."
"""The default system message is these two, joined by a space (``system_text``)."""
HERMES_HEAD = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
HERMES_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
ToolsIn = Literal["auto", "template", "system"]
TOOLS_IN: tuple[str, ...] = get_args(ToolsIn)
"""Where the schemas go: "template" (``tools=``), "system" (hermes block), "auto" (detect)."""


def text_argument(name: str, schema: Mapping[str, Any]) -> str:
    """The text argument of tool ``name``: its schema's first required parameter."""
    try:
        return schema["function"]["parameters"]["required"][0]
    except (KeyError, IndexError, TypeError) as err:
        raise ValueError(
            f"rollout.chat.tool_schemas[{name!r}] needs function.parameters.required[0] (the "
            "tool's text argument), as in rollout.chat.DEFAULT_TOOL_SCHEMAS"
        ) from err


def hermes_tools_block(schemas: Sequence[Mapping[str, Any]]) -> str:
    """The hermes ``# Tools`` block of Qwen2.5's system message, one JSON schema per line."""
    lines = "".join("\n" + json.dumps(schema, ensure_ascii=False) for schema in schemas)
    return HERMES_HEAD + lines + HERMES_TAIL


def system_text(
    system_prompt: str | None, answer_instruction: str | None, tools_block: str | None = None
) -> str | None:
    """``system_prompt answer_instruction\\n\\ntools_block`` without the empty parts, or None."""
    head = " ".join(part for part in (system_prompt, answer_instruction) if part)
    text = "\n\n".join(part for part in (head, tools_block) if part)
    return text or None


def template_renders_tools(
    tokenizer: Any, messages: list[dict[str, str]], schemas: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether ``tokenizer``'s chat template shows ``schemas`` given as ``tools=``."""

    def render(tools: list[Mapping[str, Any]] | None) -> str:
        return tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, tokenize=False
        )

    try:
        with_tools = render(list(schemas))
    except Exception:  # a template that cannot take tools= at all (jinja errors vary)
        return False
    names = [schema["function"]["name"] for schema in schemas]
    return with_tools != render(None) and all(name in with_tools for name in names)
