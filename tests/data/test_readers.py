"""Tests for the real-dataset readers on small fixture files in the real formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_paretopo.data.io import MissingDataFileError, is_local_source, write_jsonl
from lightning_paretopo.data.readers import infer_kind, load_tasks
from lightning_paretopo.data.readers_qa import hotpotqa_corpus, qa_aliases, write_hotpotqa_corpus

GSM8K_ROWS = [
    {
        "question": "Tom has 1,200 apples and buys 34 more. How many apples?",
        "answer": "He has 1200 + 34 = <<1200+34=1234>>1234 apples.\n#### 1,234",
    },
    {"question": "What is 2 + 3?", "answer": "2 + 3 = <<2+3=5>>5\n#### 5"},
]
MATH_ROWS = [
    {
        "problem": "Simplify $\\frac{1}{\\sqrt{2}}$.",
        "solution": "It is $\\boxed{1}$ at first, no: $\\boxed{\\frac{\\sqrt{2}}{2}}$.",
        "level": "Level 2",
        "type": "Algebra",
    },
    {
        "problem": "Convert $(0,3)$ to polar.",
        "solution": "So $\\boxed{(3, \\frac{\\pi}{2})}$.",
        "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
        "subject": "Precalculus",
        "level": 2,
        "unique_id": "test/precalculus/807.json",
    },
]
IRCOT_ROW = {
    "question_id": "5a8c",
    "question_text": "What position did the actress hold?",
    "answers_objects": [
        {"number": "", "date": {"day": "", "month": "", "year": ""}, "spans": ["Chief of Protocol"]}
    ],
    "contexts": [
        {"id": "0", "title": "A", "paragraph_text": "Alpha text.", "is_supporting": True},
        {"id": "1", "title": "B", "paragraph_text": "Beta text.", "is_supporting": False},
    ],
}


def _jsonl(path: Path, rows: list[dict]) -> Path:
    return write_jsonl(rows, path)


def test_gsm8k_final_answer_strips_commas(tmp_path):
    tasks = load_tasks(_jsonl(tmp_path / "gsm8k" / "test.jsonl", GSM8K_ROWS))
    assert [t.answer for t in tasks] == ["1234", "5"]
    assert tasks[0].kind == "gsm8k" and tasks[0].tools == ("python",)
    assert tasks[0].id == "gsm8k-test-00000"
    assert tasks[0].meta["solution"].endswith("1234 apples.")
    assert tasks[1].prompt == "What is 2 + 3?"


def test_math_answer_field_or_last_nested_boxed(tmp_path):
    tasks = load_tasks(_jsonl(tmp_path / "math500" / "test.jsonl", MATH_ROWS))
    assert tasks[0].answer == "\\frac{\\sqrt{2}}{2}"  # last \boxed{}, nested braces
    assert tasks[1].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"  # the answer field wins
    assert tasks[0].meta["subject"] == "Algebra" and tasks[0].meta["level"] == "Level 2"
    assert tasks[1].meta["unique_id"] == "test/precalculus/807.json"
    assert all(t.kind == "math" for t in tasks)


def test_math_float_answers_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"problem": "AMC problem", "answer": 27.0}, {"problem": "Other", "answer": 2.5}]
    path = tmp_path / "amc23.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    tasks = load_tasks(path)
    assert [t.answer for t in tasks] == ["27", "2.5"]


def test_qa_formats_give_alias_tuples(tmp_path):
    r1 = _jsonl(
        tmp_path / "hotpotqa" / "dev_500.jsonl", [{"idx": 1, "question": "Q?", "answer": "A"}]
    )
    agentic = tmp_path / "nq" / "test_full_qa.json"
    agentic.parent.mkdir()
    agentic.write_text(json.dumps([{"question": "when?", "answer": ["1972", "Dec 1972", "1972"]}]))
    flash = _jsonl(
        tmp_path / "bamboogle" / "test.jsonl", [{"question": "W?", "golden_answers": ["x", " y "]}]
    )
    ircot = _jsonl(tmp_path / "hotpotqa" / "ircot.jsonl", [IRCOT_ROW])
    assert load_tasks(r1)[0].answer == ("A",)
    assert load_tasks(agentic)[0].answer == ("1972", "Dec 1972")
    assert load_tasks(flash)[0].answer == ("x", "y")
    ircot_task = load_tasks(ircot)[0]
    assert ircot_task.answer == ("Chief of Protocol",)
    assert ircot_task.prompt == "What position did the actress hold?"
    assert ircot_task.meta["question_id"] == "5a8c"
    assert ircot_task.meta["supporting_titles"] == ["A"]
    assert ircot_task.kind == "qa" and ircot_task.tools == ("search",)


def test_ircot_number_and_date_answers():
    objects = [{"number": "42", "date": {"day": "3", "month": "May", "year": "1999"}, "spans": []}]
    assert qa_aliases({"answers_objects": objects}) == ("42", "3 May 1999")
    assert qa_aliases({"question": "q"}) == ()


def test_hotpotqa_corpus_dedups_paragraphs(tmp_path):
    second = dict(IRCOT_ROW, question_id="b")
    second["contexts"] = IRCOT_ROW["contexts"] + [
        {"id": "2", "title": "A", "paragraph_text": "Alpha other.", "is_supporting": False}
    ]
    src = _jsonl(tmp_path / "ircot.jsonl", [IRCOT_ROW, second])
    corpus = hotpotqa_corpus(src)
    assert corpus == [
        {"id": "hotpotqa-00000", "title": "A", "text": "Alpha text."},
        {"id": "hotpotqa-00001", "title": "B", "text": "Beta text."},
        {"id": "hotpotqa-00002", "title": "A", "text": "Alpha other."},
    ]
    dest = write_hotpotqa_corpus(src, tmp_path / "out" / "corpus.jsonl")
    assert [json.loads(x) for x in dest.read_text().splitlines()] == corpus


def test_limit_and_split_label(tmp_path):
    path = _jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    tasks = load_tasks(path, limit=1, split="dev")
    assert len(tasks) == 1 and tasks[0].id == "gsm8k-dev-00000"
    with pytest.raises(ValueError, match="limit"):
        load_tasks(path, limit=-1)


def test_kind_inference():
    assert infer_kind("/x/gsm8k/test.jsonl") == "gsm8k"
    assert infer_kind("/x/math500/test.jsonl") == "math"
    assert infer_kind("/x/aime24/test.jsonl") == "math"
    assert infer_kind("/x/nq/test_full_qa.json") == "qa"
    assert infer_kind("/x/2wikimultihopqa/dev.json") == "qa"
    assert infer_kind("/x/data/train.jsonl") is None
    assert infer_kind("openai/gsm8k") == "gsm8k"
    assert infer_kind("HuggingFaceH4/MATH-500") == "math"
    assert infer_kind("google/inquiry") is None  # "nq" only as a whole word


def test_unknown_kind_and_uninferable_name_raise(tmp_path):
    path = _jsonl(tmp_path / "data" / "train.jsonl", GSM8K_ROWS)
    with pytest.raises(ValueError, match=r"kind.*\['gsm8k', 'math', 'qa'\]"):
        load_tasks(path)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_tasks(path, kind="arith")
    assert load_tasks(path, kind="gsm8k")[0].answer == "1234"


def test_missing_local_file_names_the_path(tmp_path):
    missing = tmp_path / "gsm8k" / "nope.jsonl"
    with pytest.raises(MissingDataFileError, match="nope.jsonl") as info:
        load_tasks(missing)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FileNotFoundError)


def test_record_without_the_field_names_it(tmp_path):
    path = _jsonl(tmp_path / "gsm8k.jsonl", [{"question": "q"}])
    with pytest.raises(ValueError, match="'answer'"):
        load_tasks(path)
    bad_qa = _jsonl(tmp_path / "hotpot.jsonl", [{"question": "q"}])
    with pytest.raises(ValueError, match="golden_answers"):
        load_tasks(bad_qa)


def test_source_kind_detection(tmp_path):
    assert is_local_source("./train.jsonl") and is_local_source("/abs/file")
    assert not is_local_source("openai/gsm8k")
    assert not is_local_source(tmp_path)  # a directory goes to datasets.load_dataset


def test_hugging_face_code_path_with_a_local_dataset_directory(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")
    _jsonl(tmp_path / "tinygsm" / "test.jsonl", GSM8K_ROWS)
    monkeypatch.chdir(tmp_path)
    tasks = load_tasks("tinygsm", kind="gsm8k", split="test")
    assert [t.answer for t in tasks] == ["1234", "5"]
    assert tasks[0].id == "gsm8k-test-00000"
