"""benchmarks/simulate.py and sim_tiers.py: the tier model's exact HV, calibration, the table
reader, determinism, and that accuracy_only raises accuracy where calls help. Fast: few steps."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks import simulate
from benchmarks.sim_tiers import (
    TABLES,
    Tier,
    TierModel,
    call_distribution,
    exact_hv,
    expected_point,
    read_tier_table,
)
from lightning_paretopo.warmstart.evaluate import markdown_table


def tiny_model(theta: list[list[float]]) -> TierModel:
    """Two tiers, 3:1; tier 0 needs a call (0.2 -> 1.0), tier 1 does not (0.8 either way)."""
    return TierModel(
        ["hard", "easy"],
        torch.tensor([0.75, 0.25], dtype=torch.float64),
        torch.tensor([[0.2, 1.0, 1.0, 1.0, 0.0], [0.8, 0.8, 0.8, 0.8, 0.0]], dtype=torch.float64),
        torch.tensor(theta, dtype=torch.float64),
    )


def test_exact_hv_pinned_by_hand() -> None:
    # hard: P(0) = P(1) = 1/2 (logit 0, then never again); easy: never calls.
    model = tiny_model([[0.0, -60, -60, -60], [-60, -60, -60, -60]])
    acc, calls, eff = expected_point(model, model.theta0)
    # E[acc] = 0.75 (0.5 * 0.2 + 0.5 * 1.0) + 0.25 * 0.8 = 0.45 + 0.2 = 0.65
    # E[calls] = 0.75 * 0.5 = 0.375; E[eff] = 1 - 0.375 / 4 = 0.90625
    assert acc == pytest.approx(0.65)
    assert calls == pytest.approx(0.375)
    assert eff == pytest.approx(0.90625)
    assert exact_hv(model, model.theta0) == pytest.approx(0.65 * 0.90625)


def test_four_calls_are_a_budget_cut() -> None:
    model = tiny_model([[60, 60, 60, 60], [60, 60, 60, 60]])  # always calls: m = 4
    acc, calls, eff = expected_point(model, model.theta0)
    assert (acc, calls, eff) == pytest.approx((0.0, 4.0, 0.0))
    assert exact_hv(model, model.theta0) == 0.0


@pytest.mark.parametrize("task", ["arith", "kbqa"])
def test_start_policy_reproduces_the_table(task: str) -> None:
    tiers = TABLES[task]
    model = TierModel.from_tiers(tiers)
    P = call_distribution(model.theta0)  # [T, 5]
    m = torch.arange(5, dtype=torch.float64)
    for t, tier in enumerate(tiers):
        assert float(1 - P[t, 0]) == pytest.approx(tier.frac_tool, abs=1e-9)
        assert float((P[t] * m).sum()) == pytest.approx(tier.mean_calls, abs=1e-6)
        called = P[t, 1:]
        acc_tool = float((called * model.acc[t, 1:]).sum() / called.sum())
        assert acc_tool == pytest.approx(tier.acc_tool, abs=1e-9)
        assert float(model.acc[t, 0]) == pytest.approx(tier.acc_no_tool)


def test_read_tier_table_parses_the_warm_start_file(tmp_path) -> None:
    table = {
        "hard": {"n": 4.0, "acc_tool": 0.5, "acc_no_tool": math.nan, "frac_tool": 1.0,
                 "mean_calls": 1.5, "well_formed": 1.0},
        "easy": {"n": 4.0, "acc_tool": 1.0, "acc_no_tool": 0.75, "frac_tool": 0.25,
                 "mean_calls": 0.25, "well_formed": 1.0},
        "all": {"n": 8.0, "acc_tool": 0.6, "acc_no_tool": 0.75, "frac_tool": 0.625,
                "mean_calls": 0.875, "well_formed": 1.0},
    }  # fmt: skip
    path = tmp_path / "warmstart_eval.md"
    greedy = markdown_table({"hard": dict(table["hard"], n=1.0)})
    path.write_text(f"# Warm-start evaluation\n\n## sampled\n\n{markdown_table(table)}\n\n"
                    f"## greedy\n\n{greedy}\n")  # fmt: skip
    tiers = read_tier_table(path)
    assert [t.name for t in tiers] == ["hard", "easy"]  # "all" and the greedy table skipped
    assert tiers[0].n == 4 and math.isnan(tiers[0].acc_no_tool)
    assert tiers[1] == Tier("easy", 4, 1.0, 0.75, 0.25, 0.25)
    model = TierModel.from_tiers(tiers)  # a missing acc_no_tool takes acc_tool
    assert float(model.acc[0, 0]) == pytest.approx(0.5)


def test_a_run_is_deterministic_for_a_seed() -> None:
    model = TierModel.from_tiers(TABLES["arith"])
    for label in ("paretopo", "otc"):
        a = simulate.train(model, label, seed=3, steps=6, B=4, lr=4.0)
        b = simulate.train(model, label, seed=3, steps=6, B=4, lr=4.0)
        c = simulate.train(model, label, seed=4, steps=6, B=4, lr=4.0)
        assert a == b
        assert a != c
    spread = [simulate.train(model, "stage2_only", 1, 4, 4, 4.0, spread=1.0) for _ in range(2)]
    assert spread[0] == spread[1]


def test_accuracy_only_raises_accuracy_where_calls_help() -> None:
    tiers = [Tier("hard", 3, 0.9, 0.1, 0.4, 0.6), Tier("medium", 1, 0.95, 0.6, 0.3, 0.3)]
    model = TierModel.from_tiers(tiers)
    start, _, _ = expected_point(model, model.theta0)
    finals = [simulate.train(model, "accuracy_only", s, 15, 8, 4.0)["acc"] for s in range(3)]
    assert all(acc > start for acc in finals), (start, finals)


def test_method_labels_pin_v1_and_refuse_unknown_options() -> None:
    args = simulate.method_args("static_80_20")
    assert (args.name, args.weights) == ("static", [0.8, 0.2])
    pinned = simulate.method_args("paretopo")
    assert getattr(pinned.stage2, "dominance", "pareto") == "pareto"
    assert simulate.method_args("paretopo:stage2.tau=0.9").stage2.tau == 0.9
    with pytest.raises(ValueError, match="no method option"):
        simulate.method_args("paretopo:no_such_option=1")
    ok, missing = simulate.available(["otc", "paretopo:no_such_option=1"])
    assert ok == ["otc"] and list(missing) == ["paretopo:no_such_option=1"]


def test_cli_prints_a_table_per_task(capsys) -> None:
    simulate.main(["--task", "all", "--seeds", "2", "--steps", "3",
                   "--methods", "static_50_50", "paretopo", "gdpo"])  # fmt: skip
    out = capsys.readouterr().out
    assert all(f"## {task} " in out for task in ("arith", "kbqa", "tradeoff", "tradeoff_b8"))
    assert out.count("| `static_50_50` |") == 4
    assert "Spearman rho" in out


def test_spearman() -> None:
    assert simulate.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert simulate.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert simulate.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)


def test_tradeoff_tasks_are_arith_easy_and_medium_with_their_budget() -> None:
    from benchmarks.sim_tiers import TABLES, TierModel, expected_point

    easy_medium = {t.name: t for t in TABLES["arith"] if t.name != "hard"}
    assert {t.name: t.acc_no_tool for t in TABLES["tradeoff"]} == {
        n: t.acc_no_tool for n, t in easy_medium.items()
    }
    b4 = TierModel.from_tiers(TABLES["tradeoff"], budget=4)
    b8 = TierModel.from_tiers(TABLES["tradeoff"], budget=8)
    acc4, calls4, eff4 = expected_point(b4, b4.theta0)
    acc8, calls8, eff8 = expected_point(b8, b8.theta0)
    assert (acc4, calls4) == (acc8, calls8)
    assert eff4 == pytest.approx(1 - calls4 / 4, abs=1e-6)  # m <= 4 turns: never clipped
    assert eff8 == pytest.approx(1 - calls8 / 8, abs=1e-6)


def test_ordering_against_benchmark_records(tmp_path) -> None:
    import json

    results = {
        "static_50_50": [{"hv": 0.8}, {"hv": 0.8}],
        "paretopo:anchor=point,score=hv_gradient": [{"hv": 0.7}],
        "otc": [{"hv": 0.6}],
    }
    for seed, (method, hv) in enumerate(
        [("static_50_50", 0.5), ("paretopo_point_hvg", 0.9), ("otc", 0.4), ("otc", 0.2)]
    ):
        path = tmp_path / "tradeoff" / f"s{seed}" / f"{method}.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"method": method, "final": {"hv": hv}}))
    real = simulate.records_hv(tmp_path, "tradeoff")
    assert real == pytest.approx(
        {"static_50_50": 0.5, "paretopo:anchor=point,score=hv_gradient": 0.9, "otc": 0.3}
    )
    (line,) = [x for x in simulate.ordering(results, real, "records", "methods") if x]
    # real order: point_hvg > static > otc; sim: static > point_hvg > otc -> 2 of 3 pairs agree
    assert "2/3 method pairs ordered as in the real runs" in line
    assert simulate.records_hv(tmp_path, "kbqa") == {}
