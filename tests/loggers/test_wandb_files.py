"""The reader of W&B's local run files against files that wandb itself wrote (offline)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lightning_paretopo.loggers.wandb_files import logged_steps, read_run, records, run_files

from .conftest import settled


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    return tmp_path


def _segment(root: Path, run_id: str, steps: range, resume: bool, **init) -> None:
    import wandb

    run = wandb.init(project="p", id=run_id, dir=root, resume="allow" if resume else None,
                     mode="offline", **init)  # fmt: skip
    for s in steps:
        run.log({"loss": s / 10, "trainer/global_step": s}, step=s)
    run.summary["final"] = 1
    run.finish()


def test_reads_two_segments_of_one_run(offline: Path) -> None:
    _segment(offline, "run0a1b2", range(0, 4), False, group="g", tags=["method:m"],
             config={"run/seed": 3})  # fmt: skip
    time.sleep(1.1)  # W&B names a segment's folder by the second
    _segment(offline, "run0a1b2", range(4, 7), True)
    files = settled(run_files(offline / "wandb", "run0a1b2"))
    assert len(files) == 2 and files[0].parent.name < files[1].parent.name
    first = read_run(files[0])
    assert first.run_id == "run0a1b2" and first.group == "g" and first.tags == ["method:m"]
    assert first.config["run/seed"] == 3
    assert [row["loss"] for row in first.history] == [0.0, 0.1, 0.2, 0.3]
    assert [row["_step"] for row in first.history] == [0, 1, 2, 3]
    assert first.summary["final"] == 1
    assert logged_steps(offline / "wandb", "run0a1b2") == list(range(7))
    assert run_files(offline / "wandb", "other") == [] and run_files(offline / "no", "x") == []


def test_a_torn_tail_ends_at_the_last_whole_record(offline: Path) -> None:
    _segment(offline, "torn0001", range(0, 50), False)
    path = settled(run_files(offline / "wandb", "torn0001"))[0]
    whole = list(records(path))
    path.write_bytes(path.read_bytes()[:-5])  # a killed writer: the last record cut short
    torn = list(records(path))
    assert torn == whole[: len(torn)] and len(whole) - 2 <= len(torn) < len(whole)


def test_not_a_run_file(tmp_path: Path) -> None:
    (tmp_path / "x.wandb").write_bytes(b"PK\x03\x04 not wandb")
    with pytest.raises(ValueError, match="not a W&B run file"):
        list(records(tmp_path / "x.wandb"))
    (tmp_path / "y.wandb").write_bytes(b":W")  # a writer killed inside the header
    assert list(records(tmp_path / "y.wandb")) == []
