"""plots.py: the 2-D front, and both figures render to PNGs of the requested size."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest

from lightning_paretopo.plots import front_indices, plot_run_fronts


def test_front_indices_pinned() -> None:
    calls = [2.0, 2.5, 1.5, 3.0, 3.5, 1.5]
    acc = [0.30, 0.50, 0.45, 0.60, 0.40, 0.45]
    # (2.0, .30) and (3.5, .40) are dominated by (1.5, .45); both copies of (1.5, .45) kept
    assert front_indices(calls, acc) == [2, 5, 1, 3]
    assert front_indices([], []) == []
    with pytest.raises(ValueError, match="same length"):
        front_indices([1.0], [])


def test_run_fronts_png_size_and_empty_history(tmp_path: Path) -> None:
    history = [
        {"step": 3 * (k + 1), "accuracy": a, "tool_calls": c, "hv": 0.1 * (k + 1),
         "weights": [0.5 + 0.05 * k, 0.5 - 0.05 * k]}
        for k, (a, c) in enumerate([(0.3, 2.0), (0.5, 2.5), (0.45, 1.5), (0.6, 3.0)])
    ]  # fmt: skip
    train = [{"step": s, "hv": 0.02 * s, "weights": [0.5, 0.5]} for s in range(1, 13)]
    fig = plot_run_fronts(history, train, switch_step=8, objective_names=["acc", "eff"],
                          figsize=(8.0, 3.0), dpi=50)  # fmt: skip
    fig.savefig(tmp_path / "run.png")
    assert matplotlib.image.imread(tmp_path / "run.png").shape == (150, 400, 4)
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "(a) validation points (better: \u2196 up and left)", "(b) hypervolume", "(c) scalarisation weights",
    ]  # fmt: skip
    assert len(plot_run_fronts([]).axes) == 3  # renders before the first validation
    with pytest.raises(ValueError, match="tool_calls"):
        plot_run_fronts([{"step": 1, "accuracy": 0.5, "hv": 0.1}])
    with pytest.raises(ValueError, match="objective_names"):
        plot_run_fronts(history, objective_names=["only one"])
