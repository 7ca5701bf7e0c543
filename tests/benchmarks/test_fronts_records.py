"""Records of the fronts benchmark: built from hand-made finished run directories, provenance,
and the refusal to mix warm starts or machines within a block. Nothing here trains."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmarks.provenance import machine_info, machine_key, policy_hash, read_launches
from benchmarks.records import (
    FORMAT,
    BlockMismatch,
    build_record,
    default_records_dir,
    load_records,
    metric_curves,
    record_path,
    w_star,
    write_record,
)
from tests.benchmarks.fronts_fakes import MACHINE, WARM, write_finished_run


def test_record_of_a_finished_run_holds_every_field(tmp_path: Path) -> None:
    run_dir = write_finished_run(tmp_path / "logs" / "fronts-tradeoff" / "paretopo-s2")
    rec = build_record(run_dir, "tradeoff", 2, "paretopo")
    assert (rec["format"], rec["task"], rec["seed"], rec["method"]) == (FORMAT, "tradeoff", 2, "paretopo")  # fmt: skip
    assert rec["objectives"] == ["accuracy", "tool_efficiency"]  # from config.yaml's heads
    assert rec["final"] == {
        "n": 2000, "tasks": 500, "samples_per_task": 4, "accuracy": 0.8, "tool_calls": 0.5,
        "tool_productivity": 0.8, "hv": pytest.approx(0.7),
        "point": {"accuracy": 0.8, "tool_efficiency": 0.875},
    }  # fmt: skip
    assert rec["start"]["point"] == {"accuracy": 0.5, "tool_efficiency": 0.75}
    assert rec["start"]["hv"] == pytest.approx(0.375)
    assert rec["val_history"] == [
        {"step": 1, "hv": 0.41, "accuracy": 0.55, "tool_calls": 0.9},
        {"step": 3, "hv": 0.52, "accuracy": 0.7, "tool_calls": 0.6},
    ]
    assert rec["switch_step"] == 3 and rec["global_step"] == 4 and rec["zero_advantage"] is None
    assert rec["w_star"] == {"accuracy": 0.7, "tool_efficiency": 0.3}  # the last logged weights
    assert rec["warm_start"] == WARM and rec["machine"] == MACHINE
    assert rec["git"]["commit"] == "c" * 40 and rec["git"]["dirty"] is False
    assert rec["command"] == "python train.py fit (start)"
    assert rec["wall_time_s"] == {"fit": 61.5, "runner": 50.0}
    assert [set(launch) for launch in rec["launches"]] == [{"action", "command", "time", "git", "exit"}]  # fmt: skip
    assert rec["max_steps"] is None and rec["decoding"] == "sampled (T=1)"
    assert len(json.dumps(rec)) < 8000  # KBs, committed to git


def test_w_star_follows_the_objectives_order_not_the_csv_columns() -> None:
    curves = {"train/weights/brevity": [(0, 0.3), (9, 0.2)], "train/weights/accuracy": [(9, 0.6)],
              "train/weights/tool_efficiency": [(9, 0.2)], "val/hv": [(9, 0.5)]}  # fmt: skip
    names = ["accuracy", "tool_efficiency", "brevity"]
    w = w_star({"switch_step": 9}, curves, names)
    assert list(w.items()) == [("accuracy", 0.6), ("tool_efficiency", 0.2), ("brevity", 0.2)]
    assert w_star({"switch_step": None}, curves, names) is None


def test_a_resumed_run_merges_its_csv_versions_and_lists_both_launches(tmp_path: Path) -> None:
    run_dir = write_finished_run(tmp_path / "run", switch_step=None, resumed=True)
    assert metric_curves(run_dir)["val/hv"] == [(1, 0.41), (3, 0.52)]
    rec = build_record(run_dir, "arith", 0, "static_50_50", max_steps=4)
    assert rec["w_star"] is None and rec["switch_step"] is None  # never switched
    assert [launch["action"] for launch in rec["launches"]] == ["start", "resume"]
    assert rec["wall_time_s"]["runner"] == 70.0 and rec["max_steps"] == 4
    first_launch = (run_dir / "provenance.jsonl").read_text().splitlines()[0]
    with (run_dir / "provenance.jsonl").open("a") as f:  # a third launch, never measured
        f.write(first_launch + "\n")
    assert build_record(run_dir, "arith", 0, "x")["wall_time_s"]["runner"] is None


def test_a_run_the_runner_did_not_start_or_with_mixed_launches_is_not_recorded(
    tmp_path: Path,
) -> None:
    run_dir = write_finished_run(tmp_path / "run")
    (run_dir / "provenance.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="without a provenance.jsonl launch line"):
        build_record(run_dir, "arith", 0, "paretopo")
    run_dir = write_finished_run(tmp_path / "mixed", resumed=True)
    lines = (run_dir / "provenance.jsonl").read_text().splitlines()
    resume = json.loads(lines[2])
    resume["warm_start"] = {**WARM, "sha256": "b" * 64}
    lines[2] = json.dumps(resume)
    (run_dir / "provenance.jsonl").write_text("\n".join(lines) + "\n")
    assert read_launches(run_dir)[1]["exit"] == {"rc": 0, "wall_s": 20.0}
    with pytest.raises(BlockMismatch, match="its launches differ"):
        build_record(run_dir, "arith", 0, "paretopo")


def test_write_record_refuses_another_warm_start_or_machine_in_the_block(tmp_path: Path) -> None:
    records = tmp_path / "records"
    rec = build_record(write_finished_run(tmp_path / "a"), "tradeoff", 0, "paretopo")
    path = write_record(records, rec)
    assert path == record_path(records, "tradeoff", 0, "paretopo")
    assert path == records / "tradeoff" / "s0" / "paretopo.json"
    other = build_record(write_finished_run(tmp_path / "b", warm={**WARM, "sha256": "b" * 64}), "tradeoff", 0, "otc")  # fmt: skip
    with pytest.raises(BlockMismatch, match=r"block tradeoff s0: the record of otc would come from warm_start \['bbbb.*but the record of paretopo came from \['aaaa"):  # fmt: skip
        write_record(records, other)
    assert write_record(records, {**other, "seed": 1})  # another block: its own warm start
    avx2_only = {**MACHINE, "avx512": []}
    other = build_record(write_finished_run(tmp_path / "c", machine=avx2_only), "tradeoff", 0, "otc")  # fmt: skip
    with pytest.raises(BlockMismatch, match="would come from machine"):
        write_record(records, other)
    same_key = {**MACHINE, "platform": "Linux-other-kernel", "cpu_count": 16}
    rec = build_record(write_finished_run(tmp_path / "d", machine=same_key), "tradeoff", 0, "otc")
    write_record(records, rec)  # kernel and CPU count are not part of the machine key
    write_record(records, rec)  # re-writing a method's own record checks it against the others
    assert [(r["seed"], r["method"]) for r in load_records(records)] == [(0, "otc"), (0, "paretopo"), (1, "otc")]  # fmt: skip


def test_policy_hash_covers_the_weight_files_by_name_and_bytes(tmp_path: Path) -> None:
    policy = tmp_path / "tiny-arith"
    policy.mkdir()
    (policy / "model.safetensors").write_bytes(b"weights")
    (policy / "config.json").write_text("{}")  # not a weight file
    expected = hashlib.sha256(b"model.safetensors\0weights").hexdigest()
    assert policy_hash(policy) == {"path": str(policy), "sha256": expected, "files": ["model.safetensors"]}  # fmt: skip
    (policy / "config.json").write_text('{"changed": 1}')
    assert policy_hash(policy)["sha256"] == expected
    (policy / "model.safetensors").write_bytes(b"weightz")
    assert policy_hash(policy)["sha256"] != expected
    with pytest.raises(FileNotFoundError, match="no weight files"):
        policy_hash(tmp_path / "missing")


def test_machine_info_reads_the_cpu_model_and_avx_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9654\nflags\t\t: fpu sse avx2 avx512f avx512bw\n\nprocessor\t: 1\nmodel name\t: other\n")  # fmt: skip
    info = machine_info(cpuinfo)
    assert info["cpu"] == "AMD EPYC 9654" and info["avx2"] is True
    assert info["avx512"] == ["avx512bw", "avx512f"]
    assert machine_key(info) == {"cpu": "AMD EPYC 9654", "avx2": True, "avx512": ["avx512bw", "avx512f"], "torch": info["torch"]}  # fmt: skip
    cpuinfo.write_text("model name\t: Intel Xeon\nflags\t\t: fpu sse avx\n")
    assert machine_info(cpuinfo)["avx512"] == [] and machine_info(cpuinfo)["avx2"] is False


def test_smoke_records_go_to_their_own_git_ignored_place() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert default_records_dir(None) == repo / "benchmarks" / "records"
    assert default_records_dir(2) == repo / "benchmarks" / "records-smoke" / "steps2"
    ignore = (repo / "benchmarks" / ".gitignore").read_text().split()
    assert "records-smoke/" in ignore
