"""Finding finished runs and the per-method numbers, pinned by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_paretopo.fronts import find_runs, method_rows, union_hv
from lightning_paretopo.fronts.compare import format_stat, mean_std, render_markdown, start_points
from lightning_paretopo.fronts.runs import unfinished_runs

from .conftest import write_run


def test_find_runs_reads_every_finished_run(runs_folder: Path) -> None:
    runs = find_runs(runs_folder)
    assert [r.name for r in runs] == ["quickstart/paretopo-s0", "quickstart/paretopo-s1",
                                      "quickstart/static_0.5_0.5-s0", "quickstart/static_0.5_0.5-s1"]  # fmt: skip
    assert [r.method for r in runs] == ["paretopo"] * 2 + ["static_0.5_0.5"] * 2
    assert [r.seed for r in runs] == [0, 1, 0, 1]
    assert runs[0].objectives == ["accuracy", "tool_efficiency"]
    assert runs[0].final["point"] == [0.9, 0.75] and runs[0].start["accuracy"] == 0.8
    assert unfinished_runs(runs_folder) == [runs_folder / "gdpo-s0"]
    assert [r.name for r in find_runs(runs_folder / "paretopo-s1")] == ["quickstart/paretopo-s1"]
    assert len(find_runs(runs_folder.parent)) == 4  # logs/ itself: every experiment


def test_find_runs_on_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such"):
        find_runs(tmp_path / "no-such")


def test_method_rows_pinned(runs_folder: Path) -> None:
    rows = method_rows(find_runs(runs_folder))
    assert [r.method for r in rows] == ["paretopo", "static_0.5_0.5"]
    ours = rows[0]
    assert ours.seeds == [0, 1]
    mean, std, n = ours.stats["accuracy"]
    assert (mean, n) == pytest.approx((0.85, 2)) and std == pytest.approx(0.0707107, abs=1e-6)
    # HV: 0.9 * 0.75 = 0.675 and 0.8 * 0.9 = 0.72; the union of the two boxes:
    # 0.675 + 0.72 - 0.8 * 0.75 = 0.795
    assert ours.stats["hypervolume"][0] == pytest.approx((0.675 + 0.72) / 2)
    assert ours.front_hv == pytest.approx(0.795)
    assert rows[1].front_hv == pytest.approx(0.85 * 0.5)  # (0.75, 0.5) lies under (0.85, 0.5)


def test_union_hv_and_helpers() -> None:
    assert union_hv([[0.5, 0.5], [0.8, 0.2]]) == pytest.approx(0.25 + 0.3 * 0.2)
    assert union_hv([]) == 0.0 and union_hv([[float("nan"), 1.0]]) == 0.0
    assert union_hv([[0.5, 0.5, 0.5]]) == pytest.approx(0.125)
    assert mean_std([1.0]) == (1.0, 0.0, 1) and mean_std([])[2] == 0
    assert format_stat((0.5, 0.1, 2)) == "0.500 ± 0.100" and format_stat((0.5, 0.0, 1)) == "0.500"
    assert format_stat(mean_std([])) == "-"


def test_markdown_and_start_points(runs_folder: Path) -> None:
    runs = find_runs(runs_folder)
    table = render_markdown(method_rows(runs))
    assert "| paretopo | 2 | 0,1 | 0.850 ± 0.071 | 0.700 ± 0.424 | 0.698 ± 0.032 | 0.795 |" in table
    assert start_points(runs) == [(1.0, 0.8)]


def test_three_objectives(tmp_path: Path) -> None:
    write_run(tmp_path, "k3", "paretopo", 0, 0.9, 1.0, names=("accuracy", "tool_efficiency",
              "brevity"), extra=[0.5])  # fmt: skip
    (run,) = find_runs(tmp_path / "k3")
    assert run.objectives == ["accuracy", "tool_efficiency", "brevity"]
    assert method_rows([run])[0].front_hv == pytest.approx(0.9 * 0.75 * 0.5)
