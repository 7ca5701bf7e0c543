"""``build_tools``: construct tools from their specs, keyed by the markup tag they answer.

Tools are handed over in one form everywhere, ``ToolSpecs``: registry name -> constructor
arguments (``{"python": {"timeout_s": 2}, "search": {"corpus_path": "c.jsonl"}}``; ``{}`` for the
defaults). A DataModule states the tools its tasks offer as ``tool_specs()`` (``ServesTools``),
``ParetoPOModule(tool_specs=...)`` overrides them, and ``build_tools(specs)`` turns them into
``Tool`` objects for the rollout engine. Registry names: ``"calculator"`` (``Calculator``),
``"python"`` (``PythonSandbox``), ``"search"`` (``BM25Search``, needs ``corpus_path``) and
``"retriever"`` (``RetrieverClient``, also answers the ``search`` tag). Adding a tool: a class
with the ``Tool`` protocol (``tools/base.py``), named in a config by its import path
(``{"my_tools.Wolfram": {...}}``), or by a short name once it is an entry of ``TOOL_CLASSES``.

Deliberately not done: plugin discovery; add a class to ``TOOL_CLASSES`` instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

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


ToolSpecs = dict[str, dict[str, Any]]
"""Registry name -> constructor arguments of the tool (``{}``: its defaults)."""


@runtime_checkable
class ServesTools(Protocol):
    """A DataModule whose tasks offer tools: it says which, and how to build them."""

    def tool_specs(self) -> ToolSpecs: ...


def tool_class(name: str) -> type | None:
    """The class a tool name stands for: a ``TOOL_CLASSES`` entry, or an import path
    ``package.module.Class`` (a user's tool); None when it is neither."""
    if name in TOOL_CLASSES:
        return TOOL_CLASSES[name]
    module, _, attr = name.rpartition(".")
    if not module:
        return None
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def unknown_tools(names: Iterable[str]) -> list[str]:
    """The ``names`` that are neither registry names nor importable classes, sorted."""
    return sorted(name for name in set(names) if tool_class(name) is None)


def _check_known(names: Iterable[str]) -> None:
    unknown = unknown_tools(names)
    if unknown:
        known = ", ".join(sorted(TOOL_CLASSES))
        raise ValueError(
            f"unknown tool {unknown[0]!r}; known tools: {known}, or a class's import path "
            "(package.module.Class)"
        )


def markup_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The tags (tool names in the markup and the prompt) that registry ``names`` answer, in
    order, once each: ``("retriever",)`` -> ``("search",)``. Unknown names raise ValueError."""
    _check_known(names)
    return tuple(dict.fromkeys(tool_class(name).name for name in names))


def build_tools(specs: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Tool]:
    """Build the tools of ``specs`` (``ToolSpecs``; None arguments = defaults); returns
    ``{tool.name: tool}``, keyed by the markup tag each answers.

    Raises:
        ValueError: an unknown name (the message lists the known ones), arguments that are not
            a dict, or two tools answering the same tag.
    """
    names = list(specs)
    _check_known(names)
    classes = {name: tool_class(name) for name in names}  # resolved once (imports included)
    tags = [classes[name].name for name in names]
    for tag in tags:
        if tags.count(tag) > 1:
            raise ValueError(f"tools {names} include two that answer the tag {tag!r}; keep one")
    tools: dict[str, Tool] = {}
    for name in names:
        args = specs[name] or {}
        if not isinstance(args, Mapping):
            raise ValueError(f"{name}={args!r}: expected a dict of constructor arguments")
        tool = classes[name](**args)
        tools[tool.name] = tool
    return tools
