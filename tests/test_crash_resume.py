"""The real entry point survives ``kill -9``: ``python train.py fit`` killed after its first
checkpoint and resumed with ``--ckpt_path last`` ends exactly where an uninterrupted run ends.

Both runs are subprocesses of the real CLI on the quickstart config, shrunk by command-line
overrides (tiny random policy, 2 prompts x 2 rollouts, validation every 2 steps). The crashed
run is killed with SIGKILL as soon as its ``last.ckpt`` appears (the shipped ``LastCheckpoint``
writes it after the first validation, atomically). The resumed run must start at the step the
checkpoint holds and end with the same parameters, optimizer state,
ParetoPO state (stage, weights, archives, RNG), callback and data states as the uninterrupted
run, and its logs must be one history: one CSV version and one W&B run (two segments of one id)
holding every step once, with the uninterrupted run's values. Before the fix, ``save_top_k: 0`` left no checkpoint until the end, so the kill lost the
run and ``--ckpt_path last`` restarted from step 0.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_paretopo.loggers.continuity import read_run_id
from lightning_paretopo.loggers.wandb_files import read_run, run_files
from tests.helpers import subprocess_env, tiny_quickstart
from tests.loggers.conftest import settled
from tests.module.test_resume import assert_same

REPO = Path(__file__).resolve().parents[1]
MAX_STEPS = 6
SMALL = tiny_quickstart(MAX_STEPS, train_size=64, eval_size=2, test_samples=1)


def _command(policy: Path, experiment: str, *extra: str) -> list[str]:
    config = REPO / "configs" / "quickstart.yaml"
    policy_arg = f"--model.init_args.policy.name_or_path={policy}"
    return [sys.executable, str(REPO / "train.py"), "fit", "--config", str(config), policy_arg,
            *SMALL, f"--experiment={experiment}", *extra]  # fmt: skip


def _env() -> dict[str, str]:
    return subprocess_env()


def _run(cmd: list[str], cwd: Path, log: str) -> None:
    out = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    (cwd / log).write_text(out.stdout + out.stderr)
    assert out.returncode == 0, out.stderr[-3000:]


def _kill_after_first_checkpoint(cmd: list[str], cwd: Path, last: Path) -> None:
    with open(cwd / "crashed.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while not last.is_file():
                assert proc.poll() is None, (cwd / "crashed.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=60) == -signal.SIGKILL
        finally:
            proc.kill()


def _state(path: Path) -> dict[str, Any]:
    """What must match: step, weights, optimizer, ParetoPO, data and callback states (the
    checkpoint callback's own entry holds its run's paths, which differ by design)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    keep = ("global_step", "state_dict", "optimizer_states", "paretopo", "ArithDataModule")
    state = {key: ckpt[key] for key in keep}
    state["callbacks"] = {k: v for k, v in ckpt["callbacks"].items() if "Checkpoint" not in k}
    return state


def _csv_rows(run_dir: Path) -> list[tuple[str, str | None, str | None]]:
    versions = sorted((run_dir / "csv").iterdir())
    assert [v.name for v in versions] == ["version_0"], versions  # one run, one CSV version
    with open(versions[0] / "metrics.csv") as f:
        return [
            (r["step"], r.get("train/loss/pg_loss"), r.get("val/hv")) for r in csv.DictReader(f)
        ]


def _wandb_rows(run_dir: Path) -> list[dict[str, Any]]:
    run_id = read_run_id(run_dir)
    files = settled(run_files(run_dir / "wandb", run_id))
    rows = [row for path in files for row in read_run(path).history]
    keep = ("trainer/global_step", "train/loss/pg_loss", "val/hv")
    return [{k: row[k] for k in keep if k in row} for row in rows]


def _assert_one_history(whole: Path, crashed: Path, saved_step: int) -> None:
    """The crashed-and-resumed run's CSV and W&B history: one version, one W&B run (two
    segments), every step once, the values of the uninterrupted run."""
    assert len(run_files(crashed / "wandb", read_run_id(crashed))) == 2
    rows = _wandb_rows(crashed)
    assert [r["trainer/global_step"] for r in rows] == list(range(MAX_STEPS))
    assert rows == _wandb_rows(whole)
    assert _csv_rows(crashed) == _csv_rows(whole)
    assert saved_step > 0


@pytest.mark.slow
def test_kill_9_then_resume_from_last_matches_an_uninterrupted_run(
    tiny_policy: Path, tmp_path: Path
) -> None:
    # Separate working directories: each run evaluates its own start point (no shared cache).
    (tmp_path / "w").mkdir(), (tmp_path / "c").mkdir()
    _run(_command(tiny_policy, "whole"), tmp_path / "w", "whole.log")
    whole = tmp_path / "w" / "logs" / "whole" / "paretopo-s0"

    crashed = tmp_path / "c" / "logs" / "crashed" / "paretopo-s0"
    last = crashed / "checkpoints" / "last.ckpt"
    _kill_after_first_checkpoint(_command(tiny_policy, "crashed"), tmp_path / "c", last)
    saved_step = torch.load(last, weights_only=True)["global_step"]
    assert 0 < saved_step < MAX_STEPS and not (crashed / "summary.json").exists()

    _run(_command(tiny_policy, "crashed", "--ckpt_path=last"), tmp_path / "c", "resumed.log")
    assert "resuming from" in (tmp_path / "c" / "resumed.log").read_text()
    _assert_one_history(whole, crashed, saved_step)
    final = _state(last)
    assert final["global_step"] == MAX_STEPS
    assert_same(_state(whole / "checkpoints" / "last.ckpt"), final, "checkpoint")
    assert sorted(p.name for p in (crashed / "checkpoints").iterdir()) == ["last.ckpt"]
