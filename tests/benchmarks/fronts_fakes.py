"""Hand-made fronts-benchmark files for the tests: finished run directories and records.

A fake run directory has what a real one has (``summary.json`` as ``callbacks/summary.py``
writes it, ``csv/version_*/metrics.csv`` as Lightning's CSVLogger writes it, ``config.yaml``
with the reward heads' names, and the runner's ``provenance.jsonl``); a fake record has the
fields ``benchmarks/records.build_record`` writes that the report reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MACHINE = {
    "platform": "Linux-x", "python": "3.11.7", "cpu": "AMD EPYC", "cpu_count": 2,
    "avx2": True, "avx512": ["avx512f"], "torch": "2.13.0+cpu",
}  # fmt: skip
WARM = {"path": "logs/policies/tiny-arith", "sha256": "a" * 64, "files": ["model.safetensors"]}
GIT = {"commit": "c" * 40, "dirty": False, "changed": []}


def summary_point(accuracy: float, tool_calls: float, efficiency: float) -> dict[str, Any]:
    """A ``summary.json`` point; ``hypervolume`` is the product, as ``RunSummary`` writes it."""
    return {
        "n": 2000, "tasks": 500, "samples_per_task": 4,
        "accuracy": accuracy, "tool_calls": tool_calls,
        "tool_productivity": accuracy / max(tool_calls, 1.0),
        "hypervolume": accuracy * efficiency, "point": [accuracy, efficiency],
    }  # fmt: skip


CONFIG = """model:
  class_path: lightning_paretopo.module.ParetoPOModule
  init_args:
    objectives:
      class_path: lightning_paretopo.rewards.RewardHeads
      init_args:
        heads:
        - class_path: lightning_paretopo.rewards.Accuracy
          init_args: {mode: exact, name: accuracy}
        - class_path: lightning_paretopo.rewards.ToolEfficiency
          init_args: {budget: 4, nan_without_tools: false, name: tool_efficiency}
"""


def write_finished_run(
    run_dir: Path,
    switch_step: int | None = 3,
    warm: dict[str, Any] = WARM,
    machine: dict[str, Any] = MACHINE,
    resumed: bool = False,
) -> Path:
    """A finished 4-step run: validations at steps 1 and 3 (the second after a resume, in
    csv/version_1 when ``resumed``), stage-1 weights logged every step."""
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "method": "paretopo", "decoding": "sampled (T=1)",
        "start": summary_point(0.5, 1.0, 0.75), "final": summary_point(0.8, 0.5, 0.875),
        "final_dominates_start": True, "switch_step": switch_step, "global_step": 4,
        "wall_time_s": 61.5,
    }  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "config.yaml").write_text(CONFIG)
    head = "epoch,step,train/hv,train/weights/accuracy,train/weights/tool_efficiency,val/accuracy,val/hv,val/tool_calls,val/tool_productivity"  # fmt: skip
    v0 = [
        "0,0,0.3,0.5,0.5,,,,",
        "0,1,0.31,0.6,0.4,,,,",
        "0,1,,,,0.55,0.41,0.9,0.61",
        "0,2,0.33,0.7,0.3,,,,",
    ]
    v1 = ["0,3,0.35,0.7,0.3,,,,", "0,3,,,,0.7,0.52,0.6,1.17"]
    versions = [v0, v1] if resumed else [v0 + v1]
    for number, rows in enumerate(versions):
        path = run_dir / "csv" / f"version_{number}" / "metrics.csv"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join([head, *rows]) + "\n")
    launches = [("start", 50.0)] + ([("resume", 20.0)] if resumed else [])
    with (run_dir / "provenance.jsonl").open("w") as f:
        for action, wall in launches:
            entry = {"event": "launch", "action": action, "command": f"python train.py fit ({action})",
                     "time": "2026-12-07 10:00:00 +0000", "git": GIT, "machine": machine, "warm_start": warm}  # fmt: skip
            f.write(json.dumps(entry) + "\n" + json.dumps({"event": "exit", "rc": 0, "wall_s": wall}) + "\n")  # fmt: skip
    return run_dir


def record(
    task: str,
    seed: int,
    method: str,
    accuracy: float,
    tool_calls: float,
    efficiency: float,
    sha: str = "a",
    w_star: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A record with the fields the report reads (K = 2: accuracy, tool_efficiency)."""

    def pt(acc: float, calls: float, eff: float) -> dict[str, Any]:
        return {
            "n": 2000, "accuracy": acc, "tool_calls": calls,
            "tool_productivity": acc / max(calls, 1.0), "hv": acc * eff,
            "point": {"accuracy": acc, "tool_efficiency": eff},
        }  # fmt: skip

    return {
        "format": 1, "task": task, "seed": seed, "method": method, "max_steps": None,
        "objectives": ["accuracy", "tool_efficiency"],
        "final": pt(accuracy, tool_calls, efficiency), "start": pt(0.5, 1.0, 0.75),
        "val_history": [{"step": 9, "hv": 0.4, "accuracy": 0.6, "tool_calls": 0.9},
                        {"step": 19, "hv": accuracy * efficiency, "accuracy": accuracy, "tool_calls": tool_calls}],
        "switch_step": None if w_star is None else 13, "w_star": w_star,
        "warm_start": {**WARM, "sha256": sha * 64}, "git": GIT, "machine": MACHINE,
        "command": f"python train.py fit ... --run_name {method}",
    }  # fmt: skip


def write_records(records_dir: Path, records: list[dict[str, Any]]) -> None:
    for r in records:
        path = records_dir / r["task"] / f"s{r['seed']}" / f"{r['method']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
