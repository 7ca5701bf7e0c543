"""A resumed fit continues its W&B run and its CSV file, each step once, with the values an
uninterrupted fit logs (a real Trainer on the callbacks' stand-in module, offline W&B)."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest

from lightning_paretopo.callbacks import LastCheckpoint, StageSwitch
from lightning_paretopo.loggers import RunCSVLogger, RunWandbLogger
from lightning_paretopo.loggers.wandb_files import read_run, run_files
from tests.callbacks.standin import STANDIN_WARNINGS, StandInModule, loader, make_trainer
from tests.loggers.conftest import settled

pytestmark = STANDIN_WARNINGS


class KeepFirstCheckpoint(pl.Callback):
    """Copies ``last.ckpt`` once it first exists: the state a crash after it would resume."""

    def __init__(self, last: Path, copy: Path) -> None:
        self.last, self.copy = last, copy

    def on_train_batch_end(self, *args: Any) -> None:
        if self.last.is_file() and not self.copy.is_file():
            shutil.copy(self.last, self.copy)


def _fit(root: Path, run_id: str, max_steps: int, resume: bool = False,
         ckpt: Path | None = None, extra: list | None = None) -> None:  # fmt: skip
    import wandb

    loggers = [
        RunWandbLogger(save_dir=str(root), offline=True, id=run_id, project="p",
                       resume="allow" if resume else None, checkpoint_flush_s=0.0),
        RunCSVLogger(save_dir=str(root), resume=resume),
    ]  # fmt: skip
    switch = StageSwitch(min_stage1_steps=1, max_stage1_steps=4)  # logs at the switch step
    callbacks = [LastCheckpoint(dirpath=root / "ckpt"), switch, *(extra or [])]
    trainer = make_trainer(root, max_steps, callbacks, logger=loggers, val_check_interval=3,
                           limit_val_batches=1, enable_checkpointing=True)  # fmt: skip
    try:
        trainer.fit(StandInModule(), loader(), loader(4), ckpt_path=ckpt)
    finally:
        wandb.finish()
    settled(run_files(root / "wandb", run_id))  # written out before anyone reads them


def _wandb_rows(root: Path, run_id: str) -> list[dict[str, Any]]:
    rows = []
    for path in settled(run_files(root / "wandb", run_id)):
        rows += read_run(path).history
    return rows


def _scalars(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("trainer/global_step", "train/hv", "val/hv", "train/switch_step")
    return {k: row[k] for k in keep if k in row}


def _csv_rows(root: Path) -> list[dict[str, str]]:
    versions = sorted((root / "csv").iterdir())
    assert [v.name for v in versions] == ["version_0"]  # one version, resumed or not
    with open(versions[0] / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_resume_continues_one_wandb_run_and_one_csv_each_step_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    _fit(whole, "whole001", max_steps=8)

    # the "crash": the run went on to step 5 past its step-3 checkpoint; resume from that one
    keep = KeepFirstCheckpoint(crashed / "ckpt" / "last.ckpt", crashed / "at3.ckpt")
    _fit(crashed, "crash001", max_steps=5, extra=[keep])
    time.sleep(1.1)  # W&B names a segment's folder by the second: a resume is never that quick
    _fit(crashed, "crash001", max_steps=8, resume=True, ckpt=crashed / "at3.ckpt")

    assert len(run_files(crashed / "wandb", "crash001")) == 2  # two segments, one run id
    rows = _wandb_rows(crashed, "crash001")
    steps = [row["trainer/global_step"] for row in rows]
    assert steps == sorted(set(steps)) == list(range(8))  # every step once, in order
    assert [row["_step"] for row in rows] == steps  # W&B's own step axis is the global step
    assert [_scalars(r) for r in rows] == [_scalars(r) for r in _wandb_rows(whole, "whole001")]
    switched = [r for r in rows if "train/switch_step" in r]
    assert [(r["train/switch_step"], r["trainer/global_step"]) for r in switched] == [(4.0, 3)]
    assert "train/hv" in switched[0]  # the switch joined its batch's row, which W&B kept

    got, want = _csv_rows(crashed), _csv_rows(whole)
    assert [(r["step"], r.get("train/hv"), r.get("val/hv")) for r in got] == [
        (r["step"], r.get("train/hv"), r.get("val/hv")) for r in want
    ]
