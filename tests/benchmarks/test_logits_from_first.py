"""``benchmarks/logits_from_first.py`` on the tiny random policy: both rows timed, and the two
ways give the same gradients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import logits_from_first

pytestmark = pytest.mark.usefixtures("one_thread")


def test_both_ways_timed_with_equal_gradients(tiny_policy: Path, monkeypatch, capsys) -> None:
    argv = ["logits_from_first.py", "--policy", str(tiny_policy), "--prompt", "7",
            "--completion", "5", "--rows", "2", "--repeats", "1"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    logits_from_first.main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| every") or
            line.startswith("| from")]  # fmt: skip
    assert len(rows) == 2 and all(float(r.split("|")[2]) > 0 for r in rows)
    assert float(out.rsplit("largest gradient difference: ", 1)[1].split()[0]) < 1e-5
