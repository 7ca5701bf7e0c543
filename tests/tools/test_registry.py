"""build_tools: construction by name, per-tool arguments, and errors that list the known tools."""

import json
from pathlib import Path

import pytest

from lightning_paretopo.tools import (
    BM25Search,
    Calculator,
    PythonSandbox,
    RetrieverClient,
    build_tools,
)


def test_builds_named_tools_with_arguments(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "1", "title": "T", "text": "some text"}) + "\n")
    tools = build_tools(
        {
            "calculator": {},
            "python": {"timeout_s": 2.0, "isolation": "rlimits"},
            "search": {"corpus_path": str(corpus), "k": 1},
        }
    )
    assert sorted(tools) == ["calculator", "python", "search"]
    assert isinstance(tools["calculator"], Calculator)
    assert isinstance(tools["python"], PythonSandbox) and tools["python"].timeout_s == 2.0
    assert isinstance(tools["search"], BM25Search) and tools["search"].k == 1
    retriever = build_tools({"retriever": {"url": "http://127.0.0.1:1/retrieve"}})
    assert isinstance(retriever["search"], RetrieverClient)


def test_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown tool 'wolfram'; known tools: calculator, python, retriever, search",
    ):
        build_tools({"calculator": {}, "wolfram": {}})
    with pytest.raises(ValueError, match="expected a dict of constructor arguments"):
        build_tools({"python": 1})
    with pytest.raises(ValueError, match="two that answer the tag 'search'"):
        build_tools({"search": {"corpus_path": "x"}, "retriever": None})
