"""``BM25Search``: the "search" tool over a local passage corpus, with a persisted bm25s index.

Contract: the corpus is a jsonl file, one ``{"id", "title", "text"}`` object per line.
``BM25Search(corpus_path, index_dir)`` loads the index from ``index_dir`` when it was built from a
corpus file with the same sha256, else builds and saves it; ``index_dir=None`` builds in memory
only. ``BM25Search.build`` always (re)builds and saves; ``BM25Search.load`` only loads.
``tool(query)`` returns the top ``k`` passages with a positive BM25 score as one observation::

    Doc 1 (Title: Paris) Paris is the capital of France...
    Doc 2 (Title: ...) ...

Tokenization (corpus and queries alike, deterministic): lowercase, ``\\w+`` runs (Unicode),
English stopwords from ``bm25s.stopwords`` removed unless ``stopwords=False``; no stemming.
An empty query, or one with only stopwords, is ``ok=False`` (``error="empty_query"``).

Deliberately not done: dense retrieval, stemming, sharding; the whole corpus text is held in
memory, so for Wikipedia-scale corpora serve a retriever and use ``RetrieverClient`` instead.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import bm25s
from bm25s.stopwords import STOPWORDS_EN

from lightning_paretopo.tools.base import ToolResult

_TOKEN = re.compile(r"\w+")
_STOPWORDS = frozenset(STOPWORDS_EN)
_META = "meta.json"
_PASSAGES = "passages.jsonl"
_BM25_DIR = "bm25"
_FORMAT_VERSION = 1


def tokenize(text: str, stopwords: bool = True) -> list[str]:
    """Lowercase ``\\w+`` tokens, English stopwords dropped when ``stopwords``."""
    tokens = _TOKEN.findall(text.lower())
    return [t for t in tokens if t not in _STOPWORDS] if stopwords else tokens


def format_passages(passages: list[tuple[str, str]], max_chars: int) -> str:
    """``Doc i (Title: t) text`` lines; each text cut to ``max_chars`` (with ``...``)."""
    lines = []
    for i, (title, text) in enumerate(passages, start=1):
        text = " ".join(text.split())
        if len(text) > max_chars:
            text = text[: max(max_chars - 3, 0)].rstrip() + "..."
        lines.append(f"Doc {i} (Title: {title}) {text}")
    return "\n".join(lines)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_corpus(corpus_path: str | Path) -> list[dict[str, str]]:
    """Read and validate the jsonl corpus; ValueError names the line and the missing field."""
    passages = []
    with open(corpus_path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{corpus_path}:{line_no}: not valid JSON ({exc})") from exc
            for field in ("id", "title", "text"):
                if not isinstance(row, dict) or field not in row:
                    raise ValueError(
                        f"{corpus_path}:{line_no}: missing field {field!r}; each line must be "
                        '{"id": ..., "title": ..., "text": ...}'
                    )
            passages.append({k: str(row[k]) for k in ("id", "title", "text")})
    if not passages:
        raise ValueError(f"corpus_path={str(corpus_path)!r}: the corpus has no passages")
    return passages


class BM25Search:
    """BM25 (bm25s, Lucene variant, k1=1.5, b=0.75) over a local jsonl passage corpus."""

    name = "search"
    inline = True  # in-process and bounded by the corpus: run in the caller's thread

    def __init__(
        self,
        corpus_path: str | Path,
        index_dir: str | Path | None = None,
        k: int = 3,
        max_chars_per_passage: int = 500,
        stopwords: bool = True,
    ) -> None:
        """Load the index from ``index_dir`` if it matches the corpus file, else build it.

        Args:
            corpus_path: the jsonl corpus.
            index_dir: where the index is persisted; None keeps it in memory only.
            k: passages per query.
            max_chars_per_passage: each passage's text is cut to this many characters.
            stopwords: drop English stopwords when tokenizing.
        """
        _check_positive(k=k, max_chars_per_passage=max_chars_per_passage)
        _check_corpus_path(corpus_path)
        self.k, self.max_chars_per_passage = k, max_chars_per_passage
        corpus_sha = file_sha256(corpus_path)
        meta = _read_meta(index_dir) if index_dir is not None else None
        if meta is not None and meta == _meta(corpus_path, corpus_sha, stopwords, meta):
            self._load(Path(index_dir))  # type: ignore[arg-type]
        else:
            self._build(corpus_path, stopwords)
            if index_dir is not None:
                self._save(Path(index_dir), _meta(corpus_path, corpus_sha, stopwords))

    @classmethod
    def build(
        cls,
        corpus_path: str | Path,
        index_dir: str | Path,
        k: int = 3,
        max_chars_per_passage: int = 500,
        stopwords: bool = True,
    ) -> BM25Search:
        """Build the index from ``corpus_path`` and save it to ``index_dir`` (overwriting)."""
        _check_positive(k=k, max_chars_per_passage=max_chars_per_passage)
        _check_corpus_path(corpus_path)
        self = cls.__new__(cls)
        self.k, self.max_chars_per_passage = k, max_chars_per_passage
        self._build(corpus_path, stopwords)
        self._save(Path(index_dir), _meta(corpus_path, file_sha256(corpus_path), stopwords))
        return self

    @classmethod
    def load(
        cls, index_dir: str | Path, k: int = 3, max_chars_per_passage: int = 500
    ) -> BM25Search:
        """Load an index saved by ``build`` (or the constructor) without touching the corpus."""
        if _read_meta(index_dir) is None:
            raise ValueError(f"index_dir={str(index_dir)!r}: no index here; run BM25Search.build")
        _check_positive(k=k, max_chars_per_passage=max_chars_per_passage)
        self = cls.__new__(cls)
        self.k, self.max_chars_per_passage = k, max_chars_per_passage
        self._load(Path(index_dir))
        return self

    def __call__(self, text: str) -> ToolResult:
        """Search for ``text``; the observation lists up to ``k`` passages."""
        start = time.monotonic()
        hits = self.retrieve(text)
        if hits is None:
            return ToolResult(
                ok=False, text="Error: empty search query (no searchable words).", error="empty_query",
                latency_s=time.monotonic() - start,
            )  # fmt: skip
        if not hits:
            return ToolResult(True, "No passages found.", latency_s=time.monotonic() - start)
        passages = [(self.titles[i], self.texts[i]) for i, _ in hits]
        observation = format_passages(passages, self.max_chars_per_passage)
        return ToolResult(ok=True, text=observation, latency_s=time.monotonic() - start)

    def retrieve(self, query: str) -> list[tuple[int, float]] | None:
        """Top-``k`` ``(passage index, score)`` pairs with score > 0; None for an empty query."""
        tokens = tokenize(query, self.stopwords)
        if not tokens:
            return None
        k = min(self.k, len(self.ids))
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def _build(self, corpus_path: str | Path, stopwords: bool) -> None:
        passages = read_corpus(corpus_path)
        self.ids = [p["id"] for p in passages]
        self.titles = [p["title"] for p in passages]
        self.texts = [p["text"] for p in passages]
        self.stopwords = stopwords
        corpus_tokens = [tokenize(f"{p['title']} {p['text']}", stopwords) for p in passages]
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus_tokens, show_progress=False)

    def _save(self, index_dir: Path, meta: dict) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        (index_dir / _META).unlink(missing_ok=True)  # an interrupted save leaves no index
        self.retriever.save(str(index_dir / _BM25_DIR), show_progress=False)
        with open(index_dir / _PASSAGES, "w", encoding="utf-8") as f:
            for row in zip(self.ids, self.titles, self.texts, strict=True):
                f.write(json.dumps(dict(zip(("id", "title", "text"), row, strict=True))) + "\n")
        (index_dir / _META).write_text(json.dumps(meta, indent=1))  # last: marks the index complete

    def _load(self, index_dir: Path) -> None:
        meta = json.loads((index_dir / _META).read_text())
        self.retriever = bm25s.BM25.load(str(index_dir / _BM25_DIR), show_progress=False)
        passages = read_corpus(index_dir / _PASSAGES)
        self.ids = [p["id"] for p in passages]
        self.titles = [p["title"] for p in passages]
        self.texts = [p["text"] for p in passages]
        self.stopwords = bool(meta["stopwords"])


def _meta(corpus_path: str | Path, sha: str, stopwords: bool, old: dict | None = None) -> dict:
    """The index's identity; ``corpus_path`` is informative only (``old``'s is kept)."""
    path = old["corpus_path"] if old and "corpus_path" in old else str(corpus_path)
    return {
        "format": _FORMAT_VERSION,
        "corpus_sha256": sha,
        "stopwords": stopwords,
        "corpus_path": path,
    }


def _read_meta(index_dir: str | Path) -> dict | None:
    try:
        return json.loads((Path(index_dir) / _META).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _check_positive(**values: int) -> None:
    for field, value in values.items():
        if not (isinstance(value, int) and value > 0):
            raise ValueError(f"{field}={value!r}: must be a positive int")


def _check_corpus_path(corpus_path: str | Path) -> None:
    if not Path(corpus_path).is_file():
        raise ValueError(
            f"corpus_path={str(corpus_path)!r}: no such file; expected a jsonl file with "
            '{"id", "title", "text"} per line'
        )
