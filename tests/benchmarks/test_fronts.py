"""The fronts benchmark's runner: blocks, commands (K = 3 weights included), what is skipped,
resumed, started or recorded, and the refusal to mix warm starts or machines in a block.

Nothing here trains: run directories are hand-written (``fronts_fakes``), and the scheduler is
driven with ``python -c`` stand-ins for ``train.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from benchmarks import fronts
from benchmarks.fronts import decide, run_env
from benchmarks.fronts_plan import (
    ABLATIONS,
    COMPARISON,
    V1,
    WEIGHTS_K3,
    RunSpec,
    build_command,
    expand_methods,
    plan,
    task_objectives,
)
from tests.benchmarks.fronts_fakes import MACHINE, WARM, record, write_finished_run, write_records

REPO = Path(__file__).resolve().parents[2]


def test_method_groups_and_blocks() -> None:
    assert expand_methods(["comparison"]) == COMPARISON
    assert COMPARISON == ["paretopo_rank", "paretopo_hv_gradient", "paretopo_point_hvg", "paretopo_paper", "stage2_only", "accuracy_only", "static_80_20", "static_50_50", "gdpo", "otc"]  # fmt: skip
    assert expand_methods(["v1"]) == expand_methods(["all"]) == V1
    assert expand_methods(["otc", "ablations", "otc"]) == ["otc", *ABLATIONS]
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        expand_methods(["nope"])
    blocks = plan(["arith", "tradeoff_k3"], ["otc", "gdpo"], [0, 1], max_steps=3)
    assert [str(b) for b in blocks] == ["arith s0", "tradeoff_k3 s0", "arith s1", "tradeoff_k3 s1"]
    assert [str(s) for s in blocks[1].runs] == ["tradeoff_k3 otc s0", "tradeoff_k3 gdpo s0"]
    assert blocks[0].runs[0].run_dir == Path("logs/fronts-arith-steps3/otc-s0")
    assert plan(["tradeoff"], ["otc"], [2])[0].runs[0].run_dir == Path("logs/fronts-tradeoff/otc-s2")  # fmt: skip
    with pytest.raises(ValueError, match="unknown task"):
        plan(["gsm8k"], ["otc"], [0])


def test_tasks_merge_their_configs() -> None:
    """A later config's list replaces the earlier one: budget8 has 2 heads, brevity 3."""
    assert {t: task_objectives(t) for t in fronts.TASKS} == {
        "arith": 2, "kbqa": 2, "tradeoff": 2, "tradeoff_b8": 2, "tradeoff_k3": 3,
    }  # fmt: skip
    for configs in fronts.TASKS.values():
        assert all((REPO / c).is_file() for c in configs), configs


def test_build_command_for_start_resume_smoke_and_three_objectives() -> None:
    spec = RunSpec("tradeoff", "static_80_20", 2, "fronts-tradeoff")
    assert build_command(spec, "start", python="py") == [
        "py", "train.py", "fit", "--config", "configs/quickstart.yaml",
        "--config", "configs/tasks/tradeoff.yaml", "--config", "configs/methods/static_80_20.yaml",
        "--seed_everything", "2", "--model.init_args.rollout_seed", "2",
        "--experiment", "fronts-tradeoff", "--run_name", "static_80_20",
        "--trainer.enable_progress_bar=false",
    ]  # fmt: skip
    ablation = RunSpec("kbqa", "paretopo_fixed_switch", 0, "fronts-kbqa-steps5")
    cmd = build_command(ablation, "resume", max_steps=5, python="py")
    assert cmd[3:7] == ["--config", "configs/kbqa_tiny.yaml", "--config", "configs/ablations/paretopo_fixed_switch.yaml"]  # fmt: skip
    assert cmd[-3:] == ["--trainer.max_steps=5", "--ckpt_path", "last"]
    weights = {}
    for spec in plan(["tradeoff_k3"], V1 + COMPARISON, [0])[0].runs:
        cmd = build_command(spec, "start", python="py")
        assert cmd[3:9] == ["--config", "configs/quickstart.yaml", "--config", "configs/tasks/tradeoff.yaml", "--config", "configs/tasks/brevity.yaml"]  # fmt: skip
        weights[spec.method] = [a for a in cmd if a.startswith("--model.init_args.method.weights")]
    third = ["--model.init_args.method.weights=[0.3333333333, 0.3333333333, 0.3333333334]"]
    assert {m: w for m, w in weights.items() if w} == {
        "static_80_20": ["--model.init_args.method.weights=[0.8, 0.1, 0.1]"],
        "static_50_50": third, "static_20_80": ["--model.init_args.method.weights=[0.2, 0.4, 0.4]"],
        "gdpo": third, "hv_meta": third,
        "paretopo_paper": ["--model.init_args.method.weights=[0.6, 0.2, 0.2]"],
    }  # fmt: skip
    for spec in plan(["tradeoff_b8"], COMPARISON, [0])[0].runs:  # K = 2: the overlays' own
        assert not any("method.weights" in a for a in build_command(spec, "start"))
    for method in COMPARISON + V1 + ABLATIONS:
        assert (REPO / RunSpec("arith", method, 0, "x").overlay).is_file(), method
        text = (REPO / RunSpec("arith", method, 0, "x").overlay).read_text()
        assert ("weights:" in text) == (method in WEIGHTS_K3), method


def test_the_cli_builds_each_command_into_the_spec_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real CLI (parse + instantiate, no training): the run directory, and K = 3 weights
    that the module accepts (it checks their number when it is constructed)."""
    from lightning_paretopo.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train.py"])
    cases = [("arith", "paretopo_no_credit", [0.5, 0.5]), ("tradeoff_k3", "static_80_20", [0.8, 0.1, 0.1]),
             ("tradeoff_k3", "paretopo_paper", [0.6, 0.2, 0.2]), ("tradeoff_b8", "gdpo", [0.5, 0.5])]  # fmt: skip
    for task, method, weights in cases:
        spec = plan([task], [method], [1], max_steps=2)[0].runs[0]
        args = build_command(spec, "start", max_steps=2)[3:]  # after "python train.py fit"
        args = [str(REPO / a) if a.startswith("configs/") else a for a in args]
        cli = main(args, run=False)
        assert cli.trainer.default_root_dir == str(spec.run_dir)
        assert cli.trainer.max_steps == 2 and cli.model.rollout_seed == 1
        assert cli.model.static_weights.tolist() == pytest.approx(weights)
        assert len(cli.model.objective_names) == spec.k
        a, b = cli.model.hparams_initial, cli.datamodule.hparams_initial
        clash = [k for k in a.keys() & b.keys() - {"_class_path"} if a[k] != b[k]]
        assert not clash, f"module and DataModule hparams clash on {clash}"


def test_decide_recorded_record_resume_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    spec, records = RunSpec("arith", "otc", 0, "fronts-arith"), tmp_path / "records"
    assert decide(spec, records) == "start"
    (spec.run_dir / "checkpoints").mkdir(parents=True)
    assert decide(spec, records) == "start"  # a checkpoint directory without last.ckpt
    (spec.run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert decide(spec, records) == "resume"
    (spec.run_dir / "summary.json").write_text("{}")
    assert decide(spec, records) == "record"  # finished wins over a checkpoint
    write_records(records, [record("arith", 0, "otc", 0.4, 0.0, 1.0)])
    assert decide(spec, records) == "recorded"  # a record wins over everything: never re-run


def test_run_env_is_single_threaded_and_offline() -> None:
    env = run_env({"PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["WANDB_MODE"] == "offline" and env["PATH"] == "/bin"
    assert run_env({"WANDB_MODE": "online"})["WANDB_MODE"] == "online"


def test_launch_runs_jobs_at_once_and_records_the_runs_that_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -c`` stand-ins print their thread setting; otc exits 3, hv_meta exits 0 without
    a summary (so no record): both count as failed; gdpo's record is written."""

    def stand_in(spec: RunSpec, action: str, max_steps: int | None = None) -> list[str]:
        code = f"import os; print('threads', os.environ['OMP_NUM_THREADS'], '{action}')"
        return [sys.executable, "-c", code + ("; raise SystemExit(3)" if spec.method == "otc" else "")]  # fmt: skip

    monkeypatch.setattr(fronts, "build_command", stand_in)
    specs = [RunSpec("arith", m, 0, "fronts-arith", 2, tmp_path) for m in ("gdpo", "otc", "hv_meta")]  # fmt: skip
    write_finished_run(specs[0].run_dir)
    (specs[0].run_dir / "provenance.jsonl").unlink()  # the launch writes it
    records = tmp_path / "records"
    todo = [(specs[0], "start"), (specs[1], "start"), (specs[2], "resume")]
    assert fronts.launch(todo, 2, None, {"arith": WARM}, records) == 2
    out = capsys.readouterr().out
    assert out.count("[start]") == 3 and out.count("[done]") == 3 and "ETA" in out
    assert "[done] arith otc s0 FAILED rc=3" in out and "hv_meta s0 FAILED to record" in out
    assert f"[done] arith gdpo s0 ok, recorded {records}/arith/s0/gdpo.json" in out
    rec = json.loads((records / "arith" / "s0" / "gdpo.json").read_text())
    assert rec["warm_start"] == WARM and rec["launches"][0]["exit"]["rc"] == 0
    assert rec["command"].startswith("python -c ") and rec["git"]["commit"]
    assert not (records / "arith" / "s0" / "otc.json").exists()
    for spec, action in todo:
        assert f"threads 1 {action}" in (spec.run_dir / "train.log").read_text()
    otc = (specs[1].run_dir / "provenance.jsonl").read_text().splitlines()
    assert json.loads(otc[0])["event"] == "launch" and json.loads(otc[1])["rc"] == 3


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """cmd_run in tmp_path with the fake machine and warm start; launches are captured."""
    monkeypatch.chdir(tmp_path)
    calls: dict = {"warm": [], "launch": []}
    monkeypatch.setattr(fronts, "machine_info", lambda: MACHINE)
    monkeypatch.setattr(fronts, "warm_starts", lambda tasks, dry: calls["warm"].append((tasks, dry)) or {t: WARM for t in tasks})  # fmt: skip
    monkeypatch.setattr(fronts, "launch", lambda todo, *a: calls["launch"].append([(str(s), x) for s, x in todo]) or 0)  # fmt: skip
    args = argparse.Namespace(tasks=["tradeoff"], methods=["otc", "gdpo", "static_50_50"], seeds=[0, 1])  # fmt: skip
    args.__dict__.update(max_steps=None, jobs=2, dry_run=False, records_dir=tmp_path / "records")
    return {"args": args, "calls": calls, "records": tmp_path / "records"}


def test_run_skips_recorded_blocks_records_finished_runs_and_resumes(runner: dict, capsys) -> None:
    args, calls, records = runner["args"], runner["calls"], runner["records"]
    write_records(records, [record("tradeoff", 1, m, 0.7, 0.5, 0.8) for m in args.methods])
    write_records(records, [record("tradeoff", 0, "otc", 0.4, 0.0, 1.0)])
    (Path("logs/fronts-tradeoff/otc-s0")).mkdir(parents=True)  # recorded: never looked at
    write_finished_run(Path("logs/fronts-tradeoff/static_50_50-s0"))
    write_finished_run(Path("logs/fronts-tradeoff/gdpo-s0")).joinpath("checkpoints").mkdir()
    Path("logs/fronts-tradeoff/gdpo-s0/summary.json").unlink()
    Path("logs/fronts-tradeoff/gdpo-s0/checkpoints/last.ckpt").write_bytes(b"")
    assert fronts.cmd_run(args) == 0
    out = capsys.readouterr().out
    assert "2 block(s) of 3 method(s): 1 recorded (skipped), 1 with work; runs: 0 to start, 1 to resume, 1 to record" in out  # fmt: skip
    assert calls["warm"] == [(["tradeoff"], False)]
    assert calls["launch"] == [[("tradeoff gdpo s0", "resume")]]
    rec = json.loads((records / "tradeoff" / "s0" / "static_50_50.json").read_text())
    assert rec["method"] == "static_50_50" and rec["final"]["accuracy"] == 0.8
    calls["launch"].clear()
    args.seeds = [1]
    assert fronts.cmd_run(args) == 0 and calls["launch"] == [[]]  # the whole block is recorded


def test_run_refuses_to_mix_warm_starts_or_machines_in_a_block(runner: dict, capsys) -> None:
    args, calls, records = runner["args"], runner["calls"], runner["records"]
    write_records(records, [record("tradeoff", 0, "otc", 0.4, 0.0, 1.0, sha="b")])
    assert fronts.cmd_run(args) == 2 and calls["launch"] == []
    out = capsys.readouterr().out
    assert "refused, nothing was run" in out
    assert "block tradeoff s0: this machine and warm start would come from warm_start ['aaaa" in out  # fmt: skip
    assert "but the record of otc came from ['bbbb" in out and "tradeoff s1" not in out
    (records / "tradeoff" / "s0" / "otc.json").unlink()
    other = {**MACHINE, "cpu": "Intel Xeon"}  # gdpo was started on another machine
    write_finished_run(Path("logs/fronts-tradeoff/gdpo-s1"), machine=other)
    Path("logs/fronts-tradeoff/gdpo-s1/summary.json").unlink()
    (Path("logs/fronts-tradeoff/gdpo-s1/checkpoints")).mkdir()
    Path("logs/fronts-tradeoff/gdpo-s1/checkpoints/last.ckpt").write_bytes(b"")
    assert fronts.cmd_run(args) == 2 and calls["launch"] == []
    assert "the resume of tradeoff gdpo s1 would come from machine" in capsys.readouterr().out
    args.seeds, args.dry_run = [0], True
    assert fronts.cmd_run(args) == 0 and calls["launch"] == []  # a plan only
    assert calls["warm"][-1] == (["tradeoff"], True)
