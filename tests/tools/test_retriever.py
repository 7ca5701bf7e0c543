"""RetrieverClient against a tiny Search-R1-style /retrieve server on 127.0.0.1 (loopback only)."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lightning_paretopo.tools import RetrieverClient

DOCS = [
    {
        "document": {"id": "1", "contents": '"Berlin"\nBerlin is the capital of Germany.'},
        "score": 9.5,
    },
    {"document": {"id": "2", "contents": '"Paris"\nParis is the capital of France.'}, "score": 3.0},
    {"document": {"id": "3", "contents": '"Nile"\nThe Nile flows north.'}, "score": 0.5},
]


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []
    mode = "ok"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.requests.append({"path": self.path, "body": body})
        if _Handler.mode == "slow":
            time.sleep(1.0)
        if _Handler.mode == "error":
            self.send_error(500)
            return
        payload = {"ok": {"result": [DOCS[: body["topk"]]]}, "junk": {"nope": 1}}
        raw = (
            b"not json"
            if _Handler.mode == "garbage"
            else json.dumps(payload.get(_Handler.mode, payload["ok"])).encode()
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.requests, _Handler.mode = [], "ok"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/retrieve"
    httpd.shutdown()
    httpd.server_close()


def test_request_and_observation(server: str) -> None:
    result = RetrieverClient(server, k=2)("  capital of Germany ")
    assert result.ok
    assert result.text == (
        "Doc 1 (Title: Berlin) Berlin is the capital of Germany.\n"
        "Doc 2 (Title: Paris) Paris is the capital of France."
    )
    assert _Handler.requests == [
        {
            "path": "/retrieve",
            "body": {"queries": ["capital of Germany"], "topk": 2, "return_scores": True},
        }
    ]


@pytest.mark.parametrize(
    ("mode", "error"),
    [("error", "http_error"), ("garbage", "bad_response"), ("junk", "bad_response")],
)
def test_server_failures_are_results(server: str, mode: str, error: str) -> None:
    _Handler.mode = mode
    result = RetrieverClient(server)("anything")
    assert (result.ok, result.error) == (False, error)
    assert result.text.startswith("Error: ")


def test_timeout(server: str) -> None:
    _Handler.mode = "slow"
    start = time.monotonic()
    result = RetrieverClient(server, timeout_s=0.2)("anything")
    assert (result.ok, result.error) == (False, "timeout")
    assert time.monotonic() - start < 0.9


def test_unreachable_and_empty_query(server: str) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = RetrieverClient(f"http://127.0.0.1:{port}/retrieve", timeout_s=1)("anything")
    assert (result.ok, result.error) == (False, "connection_error")
    assert RetrieverClient(server)("   ").error == "empty_query"
    assert _Handler.requests == []


def test_bad_url() -> None:
    with pytest.raises(ValueError, match="url="):
        RetrieverClient("localhost:8000/retrieve")
