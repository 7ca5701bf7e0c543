"""The validation table: the last val/hv per run, mean per method and task, pinned by hand."""

from __future__ import annotations

from benchmarks.fronts_val import final_val_hv, render_validation


def rec(method: str, seed: int, *hvs: float) -> dict:
    history = [{"step": 10 * (i + 1), "hv": hv} for i, hv in enumerate(hvs)]
    return {"method": method, "seed": seed, "val_history": history}


def test_final_val_hv_is_the_last_validation() -> None:
    assert final_val_hv(rec("a", 0, 0.5, 0.7)) == 0.7
    assert final_val_hv(rec("a", 0)) is None


def test_table_pinned_by_hand() -> None:
    tasks = {
        "arith": [rec("static_50_50", 0, 0.6), rec("static_50_50", 1, 0.8), rec("otc", 0, 0.5)],
        "kbqa": [rec("static_50_50", 0, 0.4), rec("otc", 0)],  # otc: no validation on kbqa
    }
    lines = render_validation(tasks, ["static_50_50", "otc"]).splitlines()
    assert lines[0] == "| method | arith | kbqa | mean over tasks |"
    # static: arith (0.6 + 0.8) / 2 = 0.7, kbqa 0.4, mean 0.55
    assert lines[2] == "| `static_50_50` | 0.700 (n=2) | 0.400 (n=1) | 0.550 |"
    assert lines[3] == "| `otc` | 0.500 (n=1) | — | 0.500 |"
    assert render_validation({}, []) == ""
