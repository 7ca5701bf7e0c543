"""``benchmarks/step_vs_trl.py`` on the tiny random policy: every run takes its turns, each
step is timed by parts, and the report has a row per run and the ratios."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.step_clock import PARTS, Baton
from benchmarks.step_vs_trl import report, run_all

pytestmark = pytest.mark.usefixtures("one_thread")


def test_baton_turns_round_robin_and_skips_who_left() -> None:
    baton = Baton(["a", "b", "c"])
    baton.pass_on("a")
    assert baton.order[baton.turn] == "b"
    baton.leave("b")
    assert baton.order == ["a", "c"] and baton.order[baton.turn] == "c"
    baton.pass_on("c")
    assert baton.order[baton.turn] == "a"


def test_interleaved_runs_are_timed_by_parts(tiny_policy: Path) -> None:
    args = argparse.Namespace(prompts=2, group=2, new_tokens=6, turns=2, repeats=2, warmup=0,
                              lr=3e-5, seed=0, trl=False, before=True)  # fmt: skip
    clock, errors = run_all(args, tiny_policy)
    assert not errors, errors
    names = ["paretopo", "floor", "paretopo multi-turn", "paretopo before #16"]
    assert list(clock.records) == names
    for name in names:
        steps = clock.records[name]
        assert len(steps) == 2
        for step in steps:
            assert step["wall"] > 0 and step["sampled"] > 0 and step["fed"] > 0
            assert sum(step[p] for p in PARTS) == pytest.approx(step["wall"])
            assert step["generation"] > 0 and step["backward"] > 0 and step["optimizer"] > 0
    # the same prompts, seed and sampler: the step before issue 16 samples the same tokens
    assert [s["sampled"] for s in clock.records["paretopo"]] == [
        s["sampled"] for s in clock.records["paretopo before #16"]
    ]
    lines = report(clock, skip=0)
    assert sum(line.startswith("| paretopo") for line in lines) == 3
    assert any(line.startswith("- paretopo / floor:") for line in lines)


def test_trl_row_when_trl_is_installed(tiny_policy: Path) -> None:
    pytest.importorskip("trl")  # the optional extra: pip install -e ".[bench]"
    args = argparse.Namespace(prompts=2, group=2, new_tokens=6, turns=1, repeats=1, warmup=0,
                              lr=3e-5, seed=0, trl=True, before=False)  # fmt: skip
    clock, errors = run_all(args, tiny_policy)
    assert not errors, errors
    assert list(clock.records) == ["paretopo", "trl", "floor"]
    trl = clock.records["trl"][0]
    assert trl["generation"] > 0 and trl["backward"] > 0 and trl["optimizer"] > 0
    assert 0 < trl["sampled"] <= 2 * 2 * 6
