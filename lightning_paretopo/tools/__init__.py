"""Tools the policy can call: one ``Tool`` protocol (``tool(text) -> ToolResult``), never raising.

``Calculator`` ("calculator"), ``PythonSandbox`` ("python"), ``BM25Search`` and
``RetrieverClient`` ("search"); ``run_tool_calls`` runs a batch of calls concurrently;
``build_tools(specs)`` builds them from ``ToolSpecs`` (registry name -> constructor arguments),
the one form in which tools are handed over (``ServesTools``: a DataModule's ``tool_specs()``).
"""

from lightning_paretopo.tools.base import Tool, ToolResult
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.tools.concurrency import run_tool_calls
from lightning_paretopo.tools.registry import TOOL_CLASSES, ServesTools, ToolSpecs, build_tools
from lightning_paretopo.tools.retriever import RetrieverClient
from lightning_paretopo.tools.sandbox import PythonSandbox
from lightning_paretopo.tools.search import BM25Search

__all__ = [
    "TOOL_CLASSES",
    "BM25Search",
    "Calculator",
    "PythonSandbox",
    "RetrieverClient",
    "ServesTools",
    "Tool",
    "ToolResult",
    "ToolSpecs",
    "build_tools",
    "run_tool_calls",
]
