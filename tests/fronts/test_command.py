"""``python -m lightning_paretopo fronts``: PNG, HTML page and a W&B comparison run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

from lightning_paretopo.fronts import find_runs, plot_fronts
from lightning_paretopo.fronts.command import main
from lightning_paretopo.loggers.wandb_files import read_run
from tests.loggers.conftest import settled

from .conftest import write_run

REPO = Path(__file__).resolve().parents[2]


def test_writes_png_and_a_self_contained_page(runs_folder: Path, capsys) -> None:
    assert main([str(runs_folder), "--no-wandb"]) == 0
    out = capsys.readouterr()
    assert "| static_0.5_0.5 | 2 | 0,1 |" in out.out and "gdpo-s0: no summary.json" in out.err
    assert matplotlib.image.imread(runs_folder / "fronts.png").shape == (560, 1400, 4)
    page = (runs_folder / "fronts.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page and "src=" not in page and 'href="http' not in page
    assert page.count("<tr") == 1 + 2 + 1 + 4  # header + 2 methods, header + 4 runs
    assert "quickstart/paretopo-s1" in page and "0.795" in page
    assert "HV reference point (0, 0)" in page  # the figure's legend, as SVG text
    assert "left out" in page and "gdpo-s0" in page  # the unfinished run is named


def test_no_finished_run_fails_with_the_fix(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--no-wandb"]) == 1
    assert "no finished run" in capsys.readouterr().err


def test_logs_one_wandb_comparison_run(runs_folder: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert main([str(runs_folder), "--out", str(tmp_path / "out")]) == 0
    (run_file,) = settled(list((tmp_path / "out" / "wandb").glob("offline-run-*/run-*.wandb")))
    run = read_run(run_file)
    (row,) = run.history
    assert row["fronts/methods/nrows"] == 2 and row["fronts/runs/nrows"] == 4
    assert row["fronts/figure/_type"] == "image-file"
    assert run.tags == ["fronts"]


@pytest.mark.parametrize("k", [2, 3])
def test_figure_for_one_run_and_for_three_objectives(tmp_path: Path, k: int) -> None:
    names = ("accuracy", "tool_efficiency", "brevity")[:k]
    write_run(tmp_path, "e", "m", 0, 0.9, 1.0, names=names, extra=[0.4] * (k - 2))
    fig = plot_fronts(find_runs(tmp_path / "e"), title="t")
    texts = [t.get_text() for ax in fig.axes for t in [ax.title]]
    assert any("hypervolume space" in t for t in texts)
    assert ("first 2 of 3" in " ".join(texts)) == (k == 3)
    with pytest.raises(ValueError, match="no finished runs"):
        plot_fronts([])


def test_module_entry_point(runs_folder: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "lightning_paretopo", "fronts", str(runs_folder),
                          "--no-wandb"], cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (runs_folder / "fronts.html").is_file()
