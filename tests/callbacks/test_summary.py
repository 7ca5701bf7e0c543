"""RunSummary's pure parts: the point record, the dominance verdict and the end-of-fit report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lightning_paretopo.callbacks.summary import (
    decoding,
    format_report,
    improves,
    point_record,
)


def record(accuracy: float, tool_calls: float, point: list[float], samples: int = 1) -> dict:
    return point_record(
        {
            "n": 500 * samples,
            "accuracy": accuracy,
            "tool_calls": tool_calls,
            "tool_productivity": accuracy / max(tool_calls, 1.0),
            "point": point,
            "samples_per_task": samples,
        }
    )


def test_point_record_hypervolume_is_the_product_of_the_normalised_point():
    assert record(0.8, 0.5, [0.8, 0.875])["hypervolume"] == pytest.approx(0.7)
    assert record(0.8, 0.5, [0.8, float("nan")])["hypervolume"] == 0.0


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        ((0.81, 0.55), True),  # better on both
        ((0.80, 0.55), True),  # accuracy equal, fewer calls
        ((0.79, 0.55), False),  # fewer calls but lower accuracy
        ((0.90, 0.80), False),  # calls not fewer
    ],
)
def test_improves_needs_accuracy_not_lower_and_strictly_fewer_calls(final, expected):
    start = record(0.80, 0.80, [0.8, 0.8])
    assert improves(record(*final, [0.0, 0.0]), start) is expected


def test_decoding_reads_the_rollout_args():
    greedy = SimpleNamespace(rollout_args=SimpleNamespace(val_greedy=True, temperature=1.0))
    sampled = SimpleNamespace(rollout_args=SimpleNamespace(val_greedy=False, temperature=0.7))
    assert decoding(greedy) == "greedy"
    assert decoding(sampled) == "sampled (T=0.7)"
    assert decoding(SimpleNamespace()) is None


def test_format_report_puts_start_beside_final_and_names_the_files():
    start, final = record(0.81, 0.79, [0.81, 0.8]), record(0.88, 0.55, [0.88, 0.86])
    summary = {
        "method": "paretopo",
        "decoding": "sampled (T=1)",
        "start": start,
        "final": final,
        "final_dominates_start": improves(final, start),
        "switch_step": 17,
        "wall_time_s": 301.5,
    }
    text = format_report(summary, Path("run/summary.json"), Path("run/fronts.png"))
    lines = text.splitlines()
    assert lines[0] == "paretopo: test points on 500 held-out tasks, sampled (T=1)"
    assert lines[2].split() == ["start", "0.810", "0.790", "0.810", "0.648"]
    assert lines[3].split() == ["final", "0.880", "0.550", "0.880", "0.757"]
    assert "final dominates start (accuracy not lower, fewer calls): yes" in text
    assert "switch step 17, fit 301.5 s" in text
    assert lines[-2:] == ["  fronts plot: run/fronts.png", "  summary:     run/summary.json"]


def test_record_and_report_count_tasks_and_samples_apart():
    final = record(0.9, 0.5, [0.9, 0.875], samples=4)
    assert (final["n"], final["tasks"], final["samples_per_task"]) == (2000, 500, 4)
    summary = {"method": "paretopo", "decoding": "sampled (T=1)", "start": None, "final": final}
    summary |= {"final_dominates_start": None, "switch_step": 20, "wall_time_s": 1.0}
    first = format_report(summary, Path("s.json"), None).splitlines()[0]
    assert first == "paretopo: test points on 500 held-out tasks x 4 samples, sampled (T=1)"


def test_format_report_without_a_start_point_or_plot():
    final = record(0.5, 1.0, [0.5, 0.75])
    summary = {"method": "otc", "decoding": "greedy", "start": None, "final": final}
    summary |= {"final_dominates_start": None, "switch_step": None, "wall_time_s": 1.0}
    text = format_report(summary, Path("s.json"), None)
    assert "start " not in text and "dominates" not in text and "fronts plot" not in text
    assert "final" in text
