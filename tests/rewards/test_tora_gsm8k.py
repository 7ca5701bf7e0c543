"""The ToRA GSM8K check: our extractor + checker on ToRA-Code-34B's 1319 saved completions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TORA_FILE = (
    REPO / ".." / "shared" / "data" / "trajectories" / "tora_code_34b_gsm8k_test_python.jsonl"
)


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "tora_gsm8k", REPO / "benchmarks" / "tora_gsm8k.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


def test_tora_verdict_rebuilds_their_numeric_rule():
    assert bench.tora_verdict("18", "18")
    assert bench.tora_verdict("1,234", "1234")
    assert bench.tora_verdict("0.05", "5")  # gt/100: their percentage leniency
    assert bench.tora_verdict("500", "5")  # gt*100
    assert bench.tora_verdict("18.0001", "18")  # rel_tol 1e-4
    assert not bench.tora_verdict("18.01", "18")
    assert not bench.tora_verdict("abc", "18")


def test_score_on_handmade_records():
    records = [
        {"idx": 0, "code": ["```output\n18\n```\nSo $\\boxed{18}$."], "pred": ["18"], "gt": "18"},
        {"idx": 1, "code": ["\\boxed{0.05}"], "pred": ["0.05"], "gt": "5"},
        {"idx": 2, "code": ["```output\n2\n```\nTwo people."], "pred": ["2"], "gt": "2"},
        {"idx": 3, "code": ["\\boxed{7}"], "pred": ["7"], "gt": "8"},
    ]
    result = bench.score(records)
    assert result["correct"] == 1 and result["accuracy"] == pytest.approx(25.0)
    assert result["tora_rebuilt_accuracy"] == pytest.approx(75.0)
    reasons = {d["idx"]: d["reason"] for d in result["disagreements"]}
    assert sorted(reasons) == [1, 2]
    assert "percentage" in reasons[1] and "program output" in reasons[2]


def test_tora_gsm8k_accuracy_within_half_a_point_of_reported():
    if not TORA_FILE.is_file():
        pytest.skip(f"shared data file absent: {TORA_FILE}")
    with TORA_FILE.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    result = bench.score(records)
    assert result["n"] == 1319
    assert abs(result["accuracy"] - 80.7) <= 0.5
    # pinned: 1061/1319 = 80.44%; ToRA's own rule gives 1064/1319 = 80.67% (reported 80.7)
    assert result["correct"] == 1061
    assert round(result["tora_rebuilt_accuracy"], 1) == 80.7
    assert [d["idx"] for d in result["disagreements"]] == [191, 718, 806]
