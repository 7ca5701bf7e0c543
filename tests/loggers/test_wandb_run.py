"""RunWandbLogger's test points in the W&B summary, read back from the offline run file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_paretopo.loggers import RunWandbLogger
from lightning_paretopo.loggers.wandb_files import read_run, run_files
from lightning_paretopo.loggers.wandb_run import summary_fields

from .conftest import settled

POINT = {"n": 8, "tasks": 4, "samples_per_task": 2, "accuracy": 0.5, "tool_calls": 1.25,
         "tool_productivity": 0.4, "hypervolume": 0.3, "point": [0.5, 0.6]}  # fmt: skip
SUMMARY = {"method": "paretopo", "decoding": "greedy", "start": POINT,
           "final": POINT | {"accuracy": 0.75, "hypervolume": 0.45},
           "final_dominates_start": True, "switch_step": 12, "wall_time_s": 3.5}  # fmt: skip


def test_summary_fields_pinned() -> None:
    fields = summary_fields(SUMMARY)
    assert fields["test/start/accuracy"] == 0.5 and fields["test/final/accuracy"] == 0.75
    assert fields["test/final/hypervolume"] == 0.45 and fields["test/start/tasks"] == 4
    assert fields["test/final_dominates_start"] is True
    assert fields["run/switch_step"] == 12 and fields["run/decoding"] == "greedy"
    assert len(fields) == 2 * 7 + 1 + 3
    assert summary_fields({"start": None, "final": POINT})["test/final/n"] == 8
    assert not any(k.startswith("test/start") for k in summary_fields({"final": POINT}))


def test_test_points_land_in_the_run_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wandb

    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = RunWandbLogger(save_dir=str(tmp_path), offline=True, id="points01", project="p")
    try:
        logger.log_metrics({"train/hv": 0.1}, step=0)
        logger.log_test_points(SUMMARY)
    finally:
        wandb.finish()
    run = read_run(settled(run_files(tmp_path / "wandb", "points01"))[0])
    assert run.summary["test/final/accuracy"] == 0.75
    assert run.summary["test/start/hypervolume"] == 0.3
    assert run.summary["test/points"]["_type"] == "table-file"
    assert run.summary["test/points"]["nrows"] == 2
    assert [row["trainer/global_step"] for row in run.history] == [0]
