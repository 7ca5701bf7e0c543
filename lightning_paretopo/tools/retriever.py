"""``RetrieverClient``: the "search" tool backed by a Search-R1-compatible ``/retrieve`` server.

Contract: ``RetrieverClient(url)(query) -> ToolResult`` POSTs
``{"queries": [query], "topk": k, "return_scores": true}`` to ``url`` and expects
``{"result": [[{"document": {"contents": "\\"Title\\"\\ntext"}, "score": s}, ...]]}`` (with
``return_scores`` false the server may send bare documents; both are accepted). Each document's
first line is its title (surrounding quotes stripped), the rest its text. The observation has the
same ``Doc i (Title: ...) text`` format as ``BM25Search``. Network errors, HTTP errors, timeouts
and malformed responses are ``ok=False`` with ``error`` one of ``"timeout"``, ``"http_error"``,
``"connection_error"``, ``"bad_response"``; empty queries are ``"empty_query"``.

Deliberately not done: retries, batching several queries into one request, authentication.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from lightning_paretopo.tools.base import ToolResult
from lightning_paretopo.tools.search import format_passages


class RetrieverClient:
    """HTTP client for a Search-R1 style retrieval server (stdlib ``urllib`` only)."""

    name = "search"

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000/retrieve",
        k: int = 3,
        timeout_s: float = 10.0,
        max_chars_per_passage: int = 500,
    ) -> None:
        """Create a client.

        Args:
            url: the server's retrieve endpoint, e.g. ``http://127.0.0.1:8000/retrieve``.
            k: passages per query (``topk``).
            timeout_s: socket timeout for the whole request.
            max_chars_per_passage: each passage's text is cut to this many characters.
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url={url!r}: must start with http:// or https://")
        for field, value in [("k", k), ("timeout_s", timeout_s),
                             ("max_chars_per_passage", max_chars_per_passage)]:  # fmt: skip
            if not value > 0:
                raise ValueError(f"{field}={value!r}: must be > 0")
        self.url, self.k, self.timeout_s = url, k, timeout_s
        self.max_chars_per_passage = max_chars_per_passage

    def __call__(self, text: str) -> ToolResult:
        """Retrieve passages for ``text``; never raises."""
        start = time.monotonic()
        query = text.strip()
        if not query:
            return _fail("Error: empty search query.", "empty_query", start)
        body = json.dumps({"queries": [query], "topk": self.k, "return_scores": True}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            return _fail(f"Error: retriever returned HTTP {exc.code}.", "http_error", start)
        except TimeoutError:
            return _fail(
                f"Error: retriever timed out after {self.timeout_s:g} s.", "timeout", start
            )
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return _fail(
                    f"Error: retriever timed out after {self.timeout_s:g} s.", "timeout", start
                )
            return _fail(
                f"Error: cannot reach retriever ({exc.reason}).", "connection_error", start
            )
        except (OSError, ValueError) as exc:  # ValueError covers bad JSON and bad UTF-8
            return _fail(f"Error: bad retriever response ({exc}).", "bad_response", start)
        try:
            passages = parse_results(payload)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            return _fail(f"Error: bad retriever response ({exc!r}).", "bad_response", start)
        if not passages:
            return ToolResult(True, "No passages found.", latency_s=time.monotonic() - start)
        observation = format_passages(passages[: self.k], self.max_chars_per_passage)
        return ToolResult(ok=True, text=observation, latency_s=time.monotonic() - start)


def parse_results(payload: dict) -> list[tuple[str, str]]:
    """``(title, text)`` pairs of the first query's results in a ``/retrieve`` response."""
    passages = []
    for item in payload["result"][0]:
        document = item.get("document", item)
        contents = document["contents"]
        title, _, body = contents.partition("\n")
        passages.append((title.strip().strip('"'), body.strip()))
    return passages


def _fail(text: str, error: str, start: float) -> ToolResult:
    return ToolResult(ok=False, text=text, error=error, latency_s=time.monotonic() - start)
