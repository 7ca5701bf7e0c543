"""The readers on the real files in <repo>/../shared/data (skipped when that folder is absent).

Record counts are those of shared/data/SOURCES.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_paretopo.data.readers import load_tasks
from lightning_paretopo.data.readers_qa import hotpotqa_corpus
from lightning_paretopo.rewards.checkers import last_boxed

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

COUNTS = {
    "gsm8k/train.jsonl": ("gsm8k", 7473),
    "gsm8k/test.jsonl": ("gsm8k", 1319),
    "math500/test.jsonl": ("math", 500),
    "math/test_full_5000.jsonl": ("math", 5000),
    "aime24/test.jsonl": ("math", 30),
    "amc23/test.jsonl": ("math", 40),
    "bamboogle/test.jsonl": ("qa", 125),
    "hotpotqa/dev_500_r1searcher.jsonl": ("qa", 500),
    "hotpotqa/dev_full_qa.json": ("qa", 7405),
    "hotpotqa/dev_subsampled_500_ircot_with_contexts.jsonl": ("qa", 500),
    "2wikimultihopqa/dev_500_r1searcher.jsonl": ("qa", 500),
    "2wikimultihopqa/dev_full_qa.json": ("qa", 12576),
    "musique/dev_500_r1searcher.jsonl": ("qa", 500),
    "musique/dev_full_qa.json": ("qa", 2417),
    "nq/test_full_qa.json": ("qa", 3610),
    "multihop_train/r1searcher_stage2_hotpotqa_2wiki_train.jsonl": ("qa", 8148),
}


def _require(rel: str) -> Path:
    path = SHARED / rel
    if not path.is_file():
        pytest.skip(f"shared data file absent: {path}")
    return path


@pytest.mark.parametrize(("rel", "expected"), sorted(COUNTS.items()))
def test_counts_match_sources_and_fields_are_non_empty(rel, expected):
    kind, count = expected
    tasks = load_tasks(_require(rel))  # kind inferred from the file name
    assert len(tasks) == count
    assert {t.kind for t in tasks} == {kind}
    assert len({t.id for t in tasks}) == count
    for t in tasks:
        assert t.prompt.strip()
        answers = t.answer if isinstance(t.answer, tuple) else (t.answer,)
        assert answers and all(a.strip() for a in answers)


def test_gsm8k_answers_are_plain_numbers():
    tasks = load_tasks(_require("gsm8k/test.jsonl"))
    assert tasks[0].answer == "18"
    for t in tasks:
        float(t.answer)  # raises on a malformed final answer
        assert "," not in t.answer


def test_math500_answer_field_equals_last_boxed_of_solution():
    tasks = load_tasks(_require("math500/test.jsonl"))
    assert all(t.answer == last_boxed(t.meta["solution"]) for t in tasks)


def test_hotpotqa_ircot_corpus_has_the_documented_unique_paragraphs():
    corpus = hotpotqa_corpus(_require("hotpotqa/dev_subsampled_500_ircot_with_contexts.jsonl"))
    assert len(corpus) == 4858
    assert len({(p["title"], p["text"]) for p in corpus}) == 4858
    assert corpus[0]["title"] == "Meet Corliss Archer"
