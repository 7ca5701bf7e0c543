"""``build_tools``: construct tools by registry name, keyed by the markup tag they answer.

Registry names: ``"calculator"`` (``Calculator``), ``"python"`` (``PythonSandbox``), ``"search"``
(``BM25Search``, needs ``corpus_path``) and ``"retriever"`` (``RetrieverClient``, also answers the
``search`` tag). Constructor arguments go per name:
``build_tools(["python", "search"], python={"timeout_s": 2}, search={"corpus_path": "c.jsonl"})``.

Deliberately not done: plugin discovery; add a class to ``TOOL_CLASSES`` instead.
"""

from __future__ import annotations

from typing import Any

from lightning_paretopo.tools.base import Tool
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.tools.retriever import RetrieverClient
from lightning_paretopo.tools.sandbox import PythonSandbox
from lightning_paretopo.tools.search import BM25Search

TOOL_CLASSES: dict[str, type] = {
    "calculator": Calculator,
    "python": PythonSandbox,
    "search": BM25Search,
    "retriever": RetrieverClient,
}


def markup_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The tags (tool names in the markup and the prompt) that registry ``names`` answer, in
    order, once each: ``("retriever",)`` -> ``("search",)``. Unknown names raise ValueError."""
    unknown = sorted(set(names) - set(TOOL_CLASSES))
    if unknown:
        raise ValueError(f"unknown tools {unknown}; known tools: {', '.join(sorted(TOOL_CLASSES))}")
    return tuple(dict.fromkeys(TOOL_CLASSES[name].name for name in names))


def build_tools(names: list[str], **kwargs: dict[str, Any]) -> dict[str, Tool]:
    """Build the named tools; returns ``{tool.name: tool}``.

    Args:
        names: registry names, e.g. ``["calculator", "python"]``.
        **kwargs: per registry name, a dict of constructor arguments.

    Raises:
        ValueError: an unknown name (the message lists the known ones), arguments for a tool
            that is not in ``names``, or two tools answering the same tag.
    """
    known = ", ".join(sorted(TOOL_CLASSES))
    for name in names:
        if name not in TOOL_CLASSES:
            raise ValueError(f"unknown tool {name!r}; known tools: {known}")
    extra = sorted(set(kwargs) - set(names))
    if extra:
        raise ValueError(f"arguments given for tools not in names: {extra}; names={names}")
    tags = [TOOL_CLASSES[name].name for name in names]
    for tag in tags:
        if tags.count(tag) > 1:
            raise ValueError(f"tools {names} include two that answer the tag {tag!r}; keep one")
    tools: dict[str, Tool] = {}
    for name in names:
        args = kwargs.get(name) or {}
        if not isinstance(args, dict):
            raise ValueError(f"{name}={args!r}: expected a dict of constructor arguments")
        tool = TOOL_CLASSES[name](**args)
        tools[tool.name] = tool
    return tools
