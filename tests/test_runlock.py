"""``runlock.py``: one run per directory, and a crashed holder never leaves it locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightning_paretopo.runlock import RunDirInUse, RunLock, check_fresh_start

HOLD = """
import sys, time
from lightning_paretopo.runlock import RunLock
lock = RunLock(sys.argv[1]).acquire("holder")  # held while referenced
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_holder_is_refused_with_the_first_named(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "run").acquire("python train.py fit --config a.yaml")
    with pytest.raises(RunDirInUse, match=rf"pid {os.getpid()} .*fit --config a.yaml.*--run_name"):
        RunLock(tmp_path / "run").acquire("second")
    first.release()
    RunLock(tmp_path / "run").acquire("second").release()  # free again


def test_a_killed_holder_leaves_no_stuck_lock(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(RunDirInUse, match=f"pid {holder.pid}"):
            RunLock(run_dir).acquire("second")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
    deadline = time.monotonic() + 10
    while True:  # the kernel drops the flock with the process
        try:
            lock = RunLock(run_dir).acquire("after the crash")
            break
        except RunDirInUse:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert "after the crash" in lock.path.read_text() and lock.held
    lock.release()
    assert not lock.held


def test_a_new_fit_is_refused_where_a_run_left_its_checkpoint(tmp_path: Path) -> None:
    check_fresh_start(tmp_path, tmp_path / "checkpoints" / "last.ckpt")  # nothing there: fine
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="--ckpt_path last.*--run_name"):
        check_fresh_start(tmp_path, tmp_path / "checkpoints" / "last.ckpt")
