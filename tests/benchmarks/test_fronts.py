"""The fronts benchmark: aggregation pinned by hand, the runner's decisions and commands, the report.

Nothing here trains: run directories are hand-written ``summary.json`` / ``metrics.csv`` files
under tmp_path, and the scheduler is driven with ``python -c`` stand-ins for ``train.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from benchmarks import fronts
from benchmarks.fronts import RunSpec, build_command, decide, expand_methods, plan, run_env
from benchmarks.fronts_report import (
    aggregate,
    collect_runs,
    format_mean_std,
    frozen_weights,
    hv_curve,
    mean_curve,
    mean_std,
    render_switch_table,
    render_table,
    union_front_hv,
    weight_curves,
)

REPO = Path(__file__).resolve().parents[2]


def point(accuracy: float, tool_calls: float, efficiency: float) -> dict:
    """A summary point record; ``hypervolume`` is the product, as ``RunSummary`` writes it."""
    return {
        "n": 4,
        "accuracy": accuracy,
        "tool_calls": tool_calls,
        "tool_productivity": accuracy / max(tool_calls, 1.0),
        "hypervolume": accuracy * efficiency,
        "point": [accuracy, efficiency],
    }


START = point(0.5, 1.0, 0.75)


def write_run(exp: Path, name: str, final: dict | None, start: dict = START) -> Path:
    run_dir = exp / name
    run_dir.mkdir(parents=True)
    if final is not None:
        summary = {"method": name.rsplit("-s", 1)[0], "start": start, "final": final}
        (run_dir / "summary.json").write_text(json.dumps(summary))
    return run_dir


def write_csv(run_dir: Path, version: int, rows: list[tuple[int, str]]) -> None:
    path = run_dir / "csv" / f"version_{version}" / "metrics.csv"
    path.parent.mkdir(parents=True)
    lines = ["epoch,step,train/hv,val/hv"] + [f"0,{s},0.1,{hv}" for s, hv in rows]
    path.write_text("\n".join(lines) + "\n")


def write_weights(run_dir: Path, w_accuracy: list[float], switch_step: int | None) -> None:
    """Per-step stage-1 weights (accuracy, tool_efficiency) and the summary's switch step."""
    path = run_dir / "csv" / "version_0" / "metrics.csv"
    path.parent.mkdir(parents=True)
    head = "epoch,step,train/weights/accuracy,train/weights/tool_efficiency,val/hv"
    rows = [f"0,{t},{w},{1 - w}," for t, w in enumerate(w_accuracy)]
    path.write_text("\n".join([head, *rows, f"0,{len(rows) - 1},,,0.5"]) + "\n")
    summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "summary.json").write_text(json.dumps({**summary, "switch_step": switch_step}))


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    """paretopo: 2 seeds, otc: 1 seed, one unfinished run and one stray directory."""
    exp = tmp_path / "logs" / "fronts-arith"
    write_run(exp, "paretopo-s0", point(0.8, 2.0, 0.5))
    write_run(exp, "paretopo-s1", point(0.6, 0.5, 0.9))
    write_run(exp, "otc-s0", point(0.4, 0.0, 1.0))
    write_run(exp, "stage1_only-s0", None)  # still training: no summary
    (exp / "plots").mkdir()
    return exp


# ---- pure aggregation --------------------------------------------------------------------
def test_union_front_hv_of_known_points() -> None:
    # [0.8, 0.5] and [0.5, 0.9]: 0.8*0.5 + 0.5*0.9 - 0.5*0.5 (the overlap) = 0.6
    assert union_front_hv([[0.8, 0.5], [0.5, 0.9]]) == pytest.approx(0.6, abs=1e-12)
    # a dominated point adds nothing; a NaN point is dropped
    assert union_front_hv([[0.8, 0.5], [0.5, 0.9], [0.4, 0.4], [math.nan, 1.0]]) == pytest.approx(
        0.6, abs=1e-12
    )
    assert union_front_hv([[0.5, 0.5]]) == pytest.approx(0.25)
    assert union_front_hv([]) == 0.0


def test_mean_std_and_its_formatting() -> None:
    mean, std = mean_std([0.8, 0.6])
    assert mean == pytest.approx(0.7) and std == pytest.approx(math.sqrt(0.02))  # n - 1
    assert format_mean_std(mean, std, 2) == "0.700 ± 0.141"
    assert mean_std([0.3]) == (0.3, 0.0) and format_mean_std(0.3, 0.0, 1) == "0.300"
    assert mean_std([math.nan, 0.5]) == (0.5, 0.0)
    assert format_mean_std(*mean_std([]), 0) == "—"


def test_collect_and_aggregate_hand_made_runs(experiment: Path) -> None:
    runs = collect_runs(experiment)
    assert {m: [r.seed for r in rs] for m, rs in runs.items()} == {"otc": [0], "paretopo": [0, 1]}
    rows = aggregate(runs, order=fronts.BASELINES)
    assert [r.method for r in rows] == ["paretopo", "otc"]  # the baselines' order, not by name
    paretopo = rows[0]
    assert paretopo.seeds == [0, 1]
    assert paretopo.stats["accuracy"] == pytest.approx((0.7, math.sqrt(0.02)))
    assert paretopo.stats["tool_calls"] == pytest.approx((1.25, math.sqrt(1.125)))
    assert paretopo.stats["tool_productivity"] == pytest.approx((0.5, math.sqrt(0.02)))  # .4, .6
    assert paretopo.stats["hypervolume"] == pytest.approx((0.47, math.sqrt(0.0098)))  # .4, .54
    # union of [0.8, 0.5] and [0.6, 0.9]: 0.4 + 0.54 - 0.6 * 0.5 = 0.64
    assert paretopo.union_hv == pytest.approx(0.64, abs=1e-12)
    assert rows[1].union_hv == pytest.approx(0.4) and rows[1].stats["accuracy"] == (0.4, 0.0)


def test_render_table_pins_the_markdown(experiment: Path) -> None:
    table = render_table(aggregate(collect_runs(experiment), order=fronts.BASELINES))
    assert table.splitlines() == [
        "| method | seeds | accuracy | tool calls | tool productivity | HV (per run) "
        "| HV (union front) |",
        "|---|---|---|---|---|---|---|",
        "| `paretopo` | 2 | 0.700 ± 0.141 | 1.250 ± 1.061 | 0.500 ± 0.141 | 0.470 ± 0.099 "
        "| 0.640 |",
        "| `otc` | 1 | 0.400 | 0.000 | 0.400 | 0.400 | 0.400 |",
    ]


def test_hv_curve_merges_resumed_versions_and_averages_seeds(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_csv(run_dir, 0, [(0, ""), (9, "0.5"), (19, "0.6")])
    write_csv(run_dir, 2, [(19, "0.62"), (29, "0.7")])
    write_csv(run_dir, 10, [(19, "0.65"), (20, "")])  # newest version wins; 10 > 2, not "10" < "2"
    assert hv_curve(run_dir) == [(9, 0.5), (19, 0.65), (29, 0.7)]
    assert hv_curve(tmp_path / "none") == []
    assert mean_curve([[(9, 0.5), (19, 0.6)], [(9, 0.7)]]) == [
        (9, pytest.approx(0.6), 2),
        (19, 0.6, 1),
    ]


def test_weights_switch_step_and_frozen_weights(experiment: Path) -> None:
    write_weights(experiment / "paretopo-s0", [0.5, 0.75, 0.25, 0.25], switch_step=2)
    write_weights(experiment / "paretopo-s1", [0.5, 0.625, 0.875], switch_step=None)
    runs = collect_runs(experiment)
    s0, s1 = sorted(runs["paretopo"], key=lambda r: r.seed)
    assert weight_curves(s0.run_dir)["accuracy"] == [(0, 0.5), (1, 0.75), (2, 0.25), (3, 0.25)]
    assert weight_curves(s0.run_dir)["tool_efficiency"][1] == (1, 0.25)
    assert frozen_weights(s0) == {"accuracy": 0.25, "tool_efficiency": 0.75}
    assert frozen_weights(s1) is None  # never switched (stage1_only, static ...)
    assert frozen_weights(runs["otc"][0]) is None  # no switch_step, no logs
    write_run(experiment, "stage2_only-s1", point(0.6, 0.5, 0.9))
    write_weights(experiment / "stage2_only-s1", [0.5, 0.5], switch_step=0)
    runs = collect_runs(experiment)
    assert render_switch_table(runs, ["otc", "paretopo", "stage2_only"]).splitlines() == [
        "Stage switch per run, `step: w*` with w* over (accuracy, tool_efficiency):",
        "",
        "| method | seed 0 | seed 1 |",
        "|---|---|---|",
        "| `paretopo` | 2: (0.25, 0.75) | – |",
        "| `stage2_only` | – | 0: (0.50, 0.50) |",
    ]
    assert render_switch_table(runs, ["otc"]) == ""


# ---- the runner ----------------------------------------------------------------------------
def test_expand_methods_and_plan_order() -> None:
    assert expand_methods(["all"]) == fronts.BASELINES
    assert expand_methods(["otc", "ablations", "otc"]) == ["otc", *fronts.ABLATIONS]
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        expand_methods(["nope"])
    specs = plan(["arith", "kbqa"], ["otc", "gdpo"], [0, 1], max_steps=3)
    assert [str(s) for s in specs[:4]] == [
        "arith otc s0",
        "arith gdpo s0",
        "kbqa otc s0",
        "kbqa gdpo s0",
    ]
    assert {s.experiment for s in specs} == {"fronts-arith-steps3", "fronts-kbqa-steps3"}
    assert plan(["arith"], ["otc"], [2])[0].run_dir == Path("logs/fronts-arith/otc-s2")
    with pytest.raises(ValueError, match="unknown task"):
        plan(["gsm8k"], ["otc"], [0])


def test_decide_skip_resume_start(tmp_path: Path) -> None:
    assert decide(tmp_path / "missing") == "start"
    (tmp_path / "checkpoints").mkdir()
    assert decide(tmp_path) == "start"  # a checkpoint directory without last.ckpt
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert decide(tmp_path) == "resume"
    (tmp_path / "summary.json").write_text("{}")
    assert decide(tmp_path) == "skip"  # finished wins over a checkpoint


def test_build_command_for_start_resume_and_smoke() -> None:
    spec = RunSpec("arith", "static_80_20", 2, "fronts-arith")
    assert build_command(spec, "start", python="py") == [
        "py", "train.py", "fit", "--config", "configs/quickstart.yaml",
        "--config", "configs/methods/static_80_20.yaml",
        "--seed_everything", "2", "--model.init_args.rollout_seed", "2",
        "--experiment", "fronts-arith", "--run_name", "static_80_20",
        "--trainer.enable_progress_bar=false",
    ]  # fmt: skip
    ablation = RunSpec("kbqa", "paretopo_fixed_switch", 0, "fronts-kbqa-steps5")
    cmd = build_command(ablation, "resume", max_steps=5, python="py")
    assert cmd[3:7] == ["--config", "configs/kbqa_tiny.yaml", "--config", "configs/ablations/paretopo_fixed_switch.yaml"]  # fmt: skip
    assert cmd[-3:] == ["--trainer.max_steps=5", "--ckpt_path", "last"]
    for method in fronts.BASELINES + fronts.ABLATIONS:
        assert (REPO / RunSpec("arith", method, 0, "x").overlay).is_file(), method


def test_run_env_is_single_threaded_and_offline() -> None:
    env = run_env({"PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["WANDB_MODE"] == "offline" and env["PATH"] == "/bin"
    assert run_env({"WANDB_MODE": "online"})["WANDB_MODE"] == "online"


def test_the_cli_puts_a_built_command_in_the_spec_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real CLI (parse + instantiate, no training) lands in ``RunSpec.run_dir``."""
    from lightning_paretopo.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(sys, "argv", ["train.py"])
    for method in ("paretopo_no_credit", "static_20_80"):
        spec = RunSpec("arith", method, 1, "fronts-arith-steps2")
        args = build_command(spec, "start", max_steps=2)[3:]  # after "python train.py fit"
        args = [str(REPO / a) if a.startswith("configs/") else a for a in args]
        cli = main(args, run=False)
        assert cli.trainer.default_root_dir == str(spec.run_dir)
        assert cli.trainer.max_steps == 2 and cli.model.rollout_seed == 1
        # Lightning refuses to log module and DataModule hparams that share a name but differ
        # (it used to fail here for every seed but 0, when the module's seed was ``seed``).
        a, b = cli.model.hparams_initial, cli.datamodule.hparams_initial
        clash = [k for k in a.keys() & b.keys() - {"_class_path"} if a[k] != b[k]]
        assert not clash, f"module and DataModule hparams clash on {clash}"
        summary = [cb for cb in cli.trainer.callbacks if type(cb).__name__ == "RunSummary"]
        assert summary[0].dirpath == str(spec.run_dir)


def test_launch_runs_jobs_at_once_logs_each_run_and_counts_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -c`` stand-ins: each prints its thread setting; the otc run exits 3."""

    def stand_in(spec: RunSpec, action: str, max_steps: int | None = None) -> list[str]:
        code = f"import os; print('threads', os.environ['OMP_NUM_THREADS'], '{action}')"
        code += "; raise SystemExit(3)" if spec.method == "otc" else ""
        return [sys.executable, "-c", code]

    monkeypatch.setattr(fronts, "build_command", stand_in)
    specs = [RunSpec("arith", m, 0, "fronts-arith", tmp_path) for m in ("gdpo", "otc", "hv_meta")]
    failed = fronts.launch([(s, "start") for s in specs[:2]] + [(specs[2], "resume")], 2, None)
    assert failed == 1
    out = capsys.readouterr().out
    assert out.count("[start]") == 3 and out.count("[done]") == 3 and "ETA" in out
    assert "[done] arith otc s0 FAILED rc=3" in out
    for spec, action in zip(specs, ["start", "start", "resume"], strict=True):
        log = (spec.run_dir / "train.log").read_text()
        assert log.startswith("$ ") and f"threads 1 {action}" in log


def test_run_warm_starts_once_before_launching_and_skips_finished_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    import lightning_paretopo.policy.ensure as ensure

    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "quickstart.yaml").write_text((REPO / "configs" / "quickstart.yaml").read_text())  # fmt: skip
    exp = tmp_path / "logs" / "fronts-arith"
    write_run(exp, "otc-s0", point(0.4, 0.0, 1.0))
    (write_run(exp, "gdpo-s0", None) / "checkpoints").mkdir()
    (exp / "gdpo-s0" / "checkpoints" / "last.ckpt").write_bytes(b"")
    calls: list = []
    monkeypatch.setattr(ensure, "ensure_policy", lambda path, ws: calls.append(("ensure", path)))
    monkeypatch.setattr(fronts, "launch", lambda todo, jobs, m: calls.append(("launch", todo)) or 0)
    args = argparse.Namespace(tasks=["arith"], methods=["otc", "gdpo", "hv_meta"], seeds=[0])
    args.__dict__.update(max_steps=None, jobs=2, dry_run=False)
    assert fronts.cmd_run(args, ["run", "--tasks", "arith"]) == 0
    assert calls[0] == ("ensure", "logs/policies/tiny-arith") and calls[1][0] == "launch"
    assert len(calls) == 2
    assert [(str(s), a) for s, a in calls[1][1]] == [("arith gdpo s0", "resume"), ("arith hv_meta s0", "start")]  # fmt: skip
    recorded = json.loads((exp / "invocations.jsonl").read_text())
    assert recorded["command"] == "python benchmarks/fronts.py run --tasks arith"
    assert recorded["machine"]["cpu_count"] >= 1
    calls.clear()
    args.dry_run = True
    assert fronts.cmd_run(args, ["run"]) == 0 and calls == []  # a plan only: nothing ran


def test_report_writes_the_document_and_keeps_the_discussion(experiment: Path) -> None:
    logs = experiment.parent
    write_csv(experiment / "paretopo-s0", 0, [(9, "0.5"), (19, "0.6")])
    entry = {"command": "python benchmarks/fronts.py run --tasks arith", "time": "t"}
    entry["machine"] = {"platform": "Linux-x", "python": "3.11.7", "cpu": "EPYC", "cpu_count": 2, "torch": "2"}  # fmt: skip
    (experiment / "invocations.jsonl").write_text(json.dumps(entry) + "\n")
    out = logs.parent / "docs" / "results.md"
    argv = ["report", "--tasks", "arith", "kbqa", "--logs", str(logs), "--out", str(out)]
    assert fronts.main(argv) == 0
    text = out.read_text()
    assert "`python benchmarks/fronts.py run --tasks arith`" in text
    assert "- Linux-x, Python 3.11.7, EPYC (2 CPUs), torch 2" in text
    assert "This report: `python benchmarks/fronts.py report --tasks arith kbqa" in text
    assert "| `paretopo` | 2 | 0.700 ± 0.141 |" in text and "| `otc` | 1 |" in text
    assert "stage1_only" not in text  # unfinished
    assert "3 run(s), the same in every run of a seed): accuracy 0.500," in text
    assert "## kbqa" in text and "No finished runs" in text
    assert "switch step" not in text and "weights-" not in text  # no run logged weights
    write_weights(experiment / "paretopo-s1", [0.5, 0.75, 0.25], switch_step=1)
    assert fronts.main(argv) == 0
    text = out.read_text()
    assert "| method | seed 1 |" in text and "| `paretopo` | 1: (0.25, 0.75) |" in text
    for png in ("fronts-arith-fronts.png", "fronts-arith-hv.png", "fronts-arith-weights.png"):
        assert (out.parent / "results" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](results/{png})" in text
    assert "_To be written by the lead" in text
    out.write_text(text.replace("_To be written by the lead from the tables and pictures above._", "Lead's words."))  # fmt: skip
    assert fronts.main([*argv, "--methods", "otc"]) == 0
    text = out.read_text()
    assert "Lead's words." in text and "_To be written" not in text
    assert "| `otc` | 1 |" in text and "`paretopo`" not in text  # --methods filters the report


def test_warm_start_line_one_value_or_mean_over_seeds(tmp_path: Path) -> None:
    from benchmarks.fronts_doc import warm_start_line

    exp = tmp_path / "same"
    write_run(exp, "paretopo-s0", point(0.8, 0.5, 0.9))
    write_run(exp, "otc-s0", point(0.6, 0.5, 0.9))
    line = warm_start_line(collect_runs(exp))
    assert "2 run(s), the same in every run of a seed)" in line and "accuracy 0.500," in line

    exp = tmp_path / "seeds"  # seed 1 samples its test rollouts differently
    write_run(exp, "paretopo-s0", point(0.8, 0.5, 0.9))
    write_run(exp, "otc-s0", point(0.6, 0.5, 0.9))
    write_run(exp, "paretopo-s1", point(0.8, 0.5, 0.9), start=point(0.7, 1.0, 0.75))
    line = warm_start_line(collect_runs(exp))
    assert "the same in every run of a seed; mean ± std over 2 seeds" in line
    assert "accuracy 0.600 ± 0.141" in line

    write_run(exp, "otc-s1", point(0.6, 0.5, 0.9))  # START, not seed 1's point: a mismatch
    assert "NOT the same across runs of a seed" in warm_start_line(collect_runs(exp))
