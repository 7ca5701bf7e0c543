"""The fronts report from records alone: the table, the paired statistics and the across-tasks
summary pinned by hand on hand-made records, and the document rebuilt into tmp files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import fronts
from benchmarks.fronts_plan import COMPARISON
from benchmarks.fronts_report import (
    aggregate,
    format_mean_std,
    mean_std,
    render_switch_table,
    render_table,
    union_front_hv,
    warm_start_line,
)
from benchmarks.paired import across_tasks, best_fixed, paired, render_paired_table, roles
from tests.benchmarks.fronts_fakes import record, write_records

W_STAR = {"accuracy": 0.77, "tool_efficiency": 0.23}


def tradeoff() -> list[dict]:
    """HV = accuracy x efficiency. paretopo 0.72, 0.56, 0.63; static_50_50 0.6, 0.56, 0.7;
    static_80_20 0.65, 0.5 (seeds 0, 1); otc 0.6 (seed 0)."""
    return [
        record("tradeoff", 0, "paretopo", 0.8, 0.5, 0.9, w_star=W_STAR),
        record("tradeoff", 1, "paretopo", 0.7, 0.6, 0.8),
        record("tradeoff", 2, "paretopo", 0.9, 0.4, 0.7),
        record("tradeoff", 0, "static_50_50", 0.75, 0.7, 0.8),
        record("tradeoff", 1, "static_50_50", 0.7, 0.6, 0.8),  # the same HV as paretopo: a tie
        record("tradeoff", 2, "static_50_50", 0.875, 0.6, 0.8),
        record("tradeoff", 0, "static_80_20", 0.65, 0.8, 1.0),
        record("tradeoff", 1, "static_80_20", 0.625, 0.8, 0.8),
        record("tradeoff", 0, "otc", 0.6, 0.0, 1.0),
    ]


def arith() -> list[dict]:
    return [record("arith", 0, "paretopo", 0.5, 1.0, 1.0), record("arith", 0, "static_80_20", 0.55, 1.0, 1.0)]  # fmt: skip


def test_mean_std_formatting_and_union_front() -> None:
    mean, std = mean_std([0.8, 0.6])
    assert mean == pytest.approx(0.7) and std == pytest.approx(math.sqrt(0.02))  # n - 1
    assert format_mean_std(mean, std, 2) == "0.700 ± 0.141"
    assert format_mean_std(-0.05, 0.0, 1, sign=True) == "-0.050"
    assert format_mean_std(-1e-17, 0.0, 1, sign=True) == format_mean_std(1e-17, 0.0, 1, sign=True) == "0.000"  # fmt: skip
    assert mean_std([0.3]) == (0.3, 0.0) and format_mean_std(0.3, 0.0, 1) == "0.300"
    assert mean_std([math.nan, 0.5]) == (0.5, 0.0) and format_mean_std(*mean_std([]), 0) == "—"
    # [0.8, 0.9] and [0.9, 0.7]: 0.72 + 0.63 - 0.8 * 0.7 (the overlap) = 0.79; dominated adds 0
    assert union_front_hv([[0.8, 0.9], [0.7, 0.8], [0.9, 0.7], [math.nan, 1.0]]) == pytest.approx(0.79)  # fmt: skip
    assert union_front_hv([]) == 0.0


def test_table_from_records_pinned_by_hand() -> None:
    table = render_table(aggregate(tradeoff(), ["paretopo", *COMPARISON])).splitlines()
    header = "| method | seeds | accuracy | tool calls | tool productivity | HV (per run) | HV (union front) |"  # fmt: skip
    assert table[:2] == [header, "|---|---|---|---|---|---|---|"]
    # HV 0.72, 0.56, 0.63: mean 0.6367, std sqrt(((.0833)^2 + (.0767)^2 + (.0067)^2) / 2) = 0.0802
    assert table[2] == "| `paretopo` | 3 | 0.800 ± 0.100 | 0.500 ± 0.100 | 0.800 ± 0.100 | 0.637 ± 0.080 | 0.790 |"  # fmt: skip
    assert table[3] == "| `static_80_20` | 2 | 0.637 ± 0.018 | 0.800 ± 0.000 | 0.637 ± 0.018 | 0.575 ± 0.106 | 0.650 |"  # fmt: skip
    assert table[5] == "| `otc` | 1 | 0.600 | 0.000 | 0.600 | 0.600 | 0.600 |"
    assert "1 seed" not in warm_start_line(tradeoff())
    assert "9 run(s), the same in every run of a seed): accuracy 0.500," in warm_start_line(tradeoff())  # fmt: skip
    assert render_switch_table(tradeoff(), ["paretopo", *COMPARISON]).splitlines()[-1] == "| `paretopo` | 13: (0.77, 0.23) |"  # fmt: skip


def test_paired_statistics_pinned_by_hand() -> None:
    p = paired(tradeoff(), "paretopo", "static_50_50")
    # d = 0.72 - 0.6, 0.56 - 0.56, 0.63 - 0.7 = 0.12, 0, -0.07
    assert (p.n, p.wins, p.losses, p.ties) == (3, 1, 1, 1)
    assert p.mean == pytest.approx(0.05 / 3)
    # sum d^2 = 0.0193, n mean^2 = 0.05^2 / 3: var = (0.0193 - 0.000833) / 2
    assert p.std == pytest.approx(math.sqrt((0.0193 - 0.05**2 / 3) / 2))
    p = paired(tradeoff(), "paretopo", "static_80_20")  # seeds 0 and 1 only
    assert (p.seeds, p.wins, p.losses, p.ties) == ([0, 1], 2, 0, 0)
    assert (p.mean, p.std) == (pytest.approx(0.065), pytest.approx(math.sqrt(0.00005)))
    p = paired(tradeoff(), "paretopo", "otc")
    assert (p.n, p.wins, p.mean, p.std) == (1, 1, pytest.approx(0.12), 0.0)
    assert paired(tradeoff(), "paretopo", "gdpo").n == 0  # no gdpo record: nothing paired
    assert roles(["paretopo", "otc", "stage2_only", "paretopo_paper", "gdpo"]) == (["paretopo", "stage2_only", "paretopo_paper"], ["otc", "gdpo"])  # fmt: skip
    assert render_paired_table(tradeoff(), COMPARISON).splitlines() == [
        "| method | baseline | n (seeds) | wins / losses / ties | mean paired ΔHV ± std |",
        "|---|---|---|---|---|",
        "| `paretopo` | `static_80_20` | 2 | 2 / 0 / 0 | +0.065 ± 0.007 |",
        "| `paretopo` | `static_50_50` | 3 | 1 / 1 / 1 | +0.017 ± 0.096 |",
        "| `paretopo` | `otc` | 1 | 1 / 0 / 0 | +0.120 |",
    ]
    mixed = tradeoff() + [record("tradeoff", 2, "otc", 0.6, 0.0, 1.0, sha="b")]
    with pytest.raises(ValueError, match="different warm starts"):
        paired(mixed, "paretopo", "otc")


def test_across_tasks_against_the_best_fixed_weighting() -> None:
    tasks = {"tradeoff": tradeoff(), "arith": arith()}
    assert best_fixed(tradeoff()) == "static_50_50"  # mean HV 0.62 > static_80_20's 0.575
    assert best_fixed(arith()) == "static_80_20" and best_fixed([]) is None
    rows = {r.method: r for r in across_tasks(tasks, COMPARISON)}
    p = rows["paretopo"]
    assert p.hv == {"tradeoff": pytest.approx(1.91 / 3), "arith": pytest.approx(0.5)}
    assert p.vs_best["tradeoff"].mean == pytest.approx(0.05 / 3)
    assert p.vs_best["arith"].mean == pytest.approx(-0.05)
    assert rows["static_50_50"].vs_best["tradeoff"].mean == 0.0  # the best against itself
    assert set(rows["otc"].vs_best) == {"tradeoff"}  # paired on seed 0 only


def test_report_rebuilds_the_document_from_records_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no logs/ anywhere near
    records, out = tmp_path / "records", tmp_path / "docs" / "results.md"
    argv = ["report", "--records-dir", str(records), "--out", str(out)]
    assert fronts.main(argv) == 0
    assert "No records yet" in out.read_text() and "## Across tasks" not in out.read_text()
    write_records(records, tradeoff() + arith())
    assert fronts.main(argv) == 0
    text = out.read_text()
    assert "## tradeoff (`configs/quickstart.yaml` + `configs/tasks/tradeoff.yaml`; records in" in text  # fmt: skip
    assert text.index("## arith") < text.index("## tradeoff")  # fronts_plan.TASKS order
    assert "| `paretopo` | 3 | 0.800 ± 0.100 | 0.500 ± 0.100 | 0.800 ± 0.100 | 0.637 ± 0.080 | 0.790 |" in text  # fmt: skip
    assert "| `paretopo` | `static_50_50` | 3 | 1 / 1 / 1 | +0.017 ± 0.096 |" in text
    assert "- 9 record(s); warm start(s): `aaaaaaaaaaaa` (logs/policies/tiny-arith)" in text
    assert "AMD EPYC (2 CPUs, AVX2, AVX-512 (1 flags)), torch 2.13.0+cpu" in text
    assert "Best fixed weighting per task (highest mean HV on these records): arith: `static_80_20`, tradeoff: `static_50_50`." in text  # fmt: skip
    # paretopo: mean HV (0.5 + 0.6367) / 2; d -0.05 and +0.0167: mean -0.0167, std 0.0471
    assert "| `paretopo` | 2 | 0.568 | 2 | 4 | 1 / 2 / 1 | -0.017 ± 0.047 |" in text
    for png in ("blocks-tradeoff-fronts.png", "blocks-tradeoff-hv.png", "blocks-arith-fronts.png"):  # fmt: skip
        assert (out.parent / "results" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](results/{png})" in text
    assert "_To be written by the lead" in text
    out.write_text(text.replace("_To be written by the lead from the tables and pictures above._", "Lead's words."))  # fmt: skip
    assert fronts.main([*argv, "--methods", "otc", "static_80_20", "--tasks", "tradeoff"]) == 0
    text = out.read_text()
    assert "Lead's words." in text and "_To be written" not in text
    assert "| `otc` | 1 |" in text and "`paretopo`" not in text and "## arith" not in text
    assert "Smoke records" not in text
    write_records(tmp_path / "smoke", [{**r, "max_steps": 2} for r in arith()])
    assert fronts.main(["report", "--records-dir", "smoke", "--out", str(out)]) == 0
    assert "**Smoke records, not full runs**: trainer.max_steps [2]." in out.read_text()
