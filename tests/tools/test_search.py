"""BM25Search over a tiny corpus written by the test: ranking, format, persistence, staleness."""

import json
from pathlib import Path

import pytest

from lightning_paretopo.tools import BM25Search, Tool
from lightning_paretopo.tools.search import format_passages, tokenize

PASSAGES = [
    {"id": "p1", "title": "Paris", "text": "Paris is the capital and largest city of France."},
    {"id": "p2", "title": "Berlin", "text": "Berlin is the capital of Germany, on the Spree."},
    {
        "id": "p3",
        "title": "Python",
        "text": "Python is a programming language by Guido van Rossum.",
    },
    {"id": "p4", "title": "Everest", "text": "Mount Everest is the highest mountain on Earth."},
    {"id": "p5", "title": "Nile", "text": "The Nile is a major river flowing north through Egypt."},
]


def _write_corpus(path: Path, passages: list[dict]) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in passages))
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _write_corpus(tmp_path / "corpus.jsonl", PASSAGES)


@pytest.mark.parametrize(
    ("query", "first_title"),
    [
        ("What is the capital of Germany?", "Berlin"),
        ("who created the python programming language", "Python"),
        ("highest mountain", "Everest"),
        ("river in Egypt", "Nile"),
        ("largest city of France", "Paris"),
    ],
)
def test_right_passage_ranks_first(corpus: Path, query: str, first_title: str) -> None:
    search = BM25Search(corpus, k=2)
    result = search(query)
    assert result.ok
    assert result.text.splitlines()[0].startswith(f"Doc 1 (Title: {first_title}) ")


def test_observation_format_and_k(corpus: Path) -> None:
    search = BM25Search(corpus, k=2, max_chars_per_passage=20)
    result = search("capital")  # only Paris and Berlin mention it
    assert result.text.splitlines() == [
        "Doc 1 (Title: Berlin) Berlin is the cap...",
        "Doc 2 (Title: Paris) Paris is the capi...",
    ]


def test_empty_and_unmatched_queries(corpus: Path) -> None:
    search = BM25Search(corpus)
    for query in ["", "   ", "the of and"]:  # the last is stopwords only
        result = search(query)
        assert (result.ok, result.error) == (False, "empty_query")
    unmatched = search("zebra")
    assert (unmatched.ok, unmatched.text) == (True, "No passages found.")


def test_save_load_round_trip_is_identical(corpus: Path, tmp_path: Path) -> None:
    built = BM25Search.build(corpus, tmp_path / "index", k=3)
    corpus.unlink()  # loading must not need the corpus
    loaded = BM25Search.load(tmp_path / "index", k=3)
    for query in ["capital of Germany", "python language", "river", "mountain Earth"]:
        assert loaded.retrieve(query) == built.retrieve(query)
        assert loaded(query).text == built(query).text
    assert loaded.ids == [p["id"] for p in PASSAGES]


def test_constructor_reuses_index_and_rebuilds_when_stale(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    BM25Search(corpus, index_dir)
    stamp = (index_dir / "meta.json").stat().st_mtime_ns
    BM25Search(corpus, index_dir)  # same corpus: loaded, not rebuilt
    assert (index_dir / "meta.json").stat().st_mtime_ns == stamp
    extra = {"id": "p6", "title": "Tokyo", "text": "Tokyo is the capital of Japan."}
    _write_corpus(corpus, [*PASSAGES, extra])
    search = BM25Search(corpus, index_dir)  # corpus changed: rebuilt
    assert search("capital of Japan").text.startswith("Doc 1 (Title: Tokyo)")
    assert BM25Search.load(index_dir).ids[-1] == "p6"


def test_bad_corpus_and_missing_index(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "1", "text": "no title"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: missing field 'title'"):
        BM25Search(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no passages"):
        BM25Search(empty)
    with pytest.raises(ValueError, match="corpus_path='nowhere.jsonl': no such file"):
        BM25Search("nowhere.jsonl")
    with pytest.raises(ValueError, match="no index here"):
        BM25Search.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="k=0"):
        BM25Search(bad, k=0)


def test_k_larger_than_corpus(corpus: Path) -> None:
    result = BM25Search(corpus, k=50)("capital mountain river python")
    assert result.ok
    assert len(result.text.splitlines()) == 5  # every passage matches; k is capped at 5


def test_tokenize_and_format() -> None:
    assert tokenize("The Capital, of FRANCE!") == ["capital", "france"]
    assert tokenize("The Capital", stopwords=False) == ["the", "capital"]
    assert format_passages([("T", "a  b\nc")], 100) == "Doc 1 (Title: T) a b c"
    assert isinstance(BM25Search.__new__(BM25Search), Tool)
