"""Bad task files fail with the file name, the 1-based line (or record) number and the fix.

Each file is a tiny one built in ``tmp_path``; the real data in ../shared/data is never copied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_paretopo.data.io import DataFormatError, read_records
from lightning_paretopo.data.readers import load_tasks

GOOD = {"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}


def _lines(path: Path, *lines: str | bytes) -> Path:
    """Write ``lines`` (str as UTF-8, bytes as they are) joined by newlines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [line.encode() if isinstance(line, str) else line for line in lines]
    path.write_bytes(b"\n".join(data) + b"\n")
    return path


def test_malformed_json_line_names_file_and_line(tmp_path):
    path = _lines(tmp_path / "gsm8k" / "train.jsonl", json.dumps(GOOD), "", '{"question": "x",')
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 3: not valid JSON") as info:
        load_tasks(path)
    assert "column" in str(info.value) and "fix or delete that line" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_utf8_byte_names_file_line_and_fix(tmp_path):
    bad = json.dumps({"question": "caf\u00e9?", "answer": "#### 1"}, ensure_ascii=False)
    bad = bad.encode("latin-1")  # \xe9: not UTF-8
    path = _lines(tmp_path / "gsm8k" / "train.jsonl", json.dumps(GOOD), json.dumps(GOOD), bad)
    message = r"train\.jsonl, line 3: byte 0x[0-9a-f]{2} at column \d+ is not UTF-8"
    with pytest.raises(DataFormatError, match=message) as info:
        load_tasks(path)
    assert "re-encode the file as UTF-8" in str(info.value)


def test_line_that_is_not_an_object(tmp_path):
    path = _lines(tmp_path / "gsm8k" / "train.jsonl", json.dumps(GOOD), "[1, 2]")
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 2: .*got a JSON array"):
        load_tasks(path)


def test_gsm8k_answer_without_the_final_marker(tmp_path):
    no_marker = {"question": "q", "answer": "2 + 3 = 5, so the answer is 5"}
    path = _lines(tmp_path / "gsm8k" / "test.jsonl", json.dumps(GOOD), "", json.dumps(no_marker))
    with pytest.raises(DataFormatError, match=r"test\.jsonl, line 3: .*'####'") as info:
        load_tasks(path)
    assert "kind=" in str(info.value)  # the fix: add the marker, or read it as another kind


def test_missing_field_names_the_line(tmp_path):
    path = _lines(tmp_path / "gsm8k" / "test.jsonl", "", json.dumps({"question": "q"}))
    with pytest.raises(DataFormatError, match=r"test\.jsonl, line 2: .*'answer'"):
        load_tasks(path)


def test_json_document_errors_give_the_document_line(tmp_path):
    path = tmp_path / "nq" / "test_full_qa.json"
    path.parent.mkdir()
    path.write_text('[\n  {"question": "q", "answer": "a"},\n  {"question": "r" "answer": 1}\n]\n')
    with pytest.raises(DataFormatError, match=r"test_full_qa\.json, line 3, column \d+"):
        load_tasks(path)
    path.write_text(json.dumps([{"question": "q", "answer": "a"}, "not a record"]))
    with pytest.raises(DataFormatError, match=r"test_full_qa\.json, record 2: .*JSON string"):
        load_tasks(path)


def test_json_file_with_one_object_per_line_keeps_line_numbers(tmp_path):
    path = _lines(tmp_path / "records.json", json.dumps(GOOD), "", "{oops}")
    with pytest.raises(DataFormatError, match=r"records\.json, line 3: not valid JSON"):
        read_records(path)
    path = _lines(tmp_path / "fine.json", json.dumps(GOOD), "", json.dumps(GOOD))
    assert read_records(path) == [GOOD, GOOD]


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "gsm8k" / "bom.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(GOOD) + "\r\n").encode() * 2)
    assert [t.answer for t in load_tasks(path)] == ["5", "5"]
