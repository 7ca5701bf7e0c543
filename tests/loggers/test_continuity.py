"""What the CLI fills into the loggers: the fit's W&B id (new, or the resumed run's), resume
flags, group, tags and config; validate/test get W&B runs of their own."""

from __future__ import annotations

import json
from pathlib import Path

from jsonargparse import Namespace

from lightning_paretopo.loggers.continuity import (
    RUN_FILE,
    fill_loggers,
    read_run_id,
    record_run_id,
    task_name,
)

OURS = "lightning_paretopo.loggers.RunWandbLogger"
STOCK = "lightning.pytorch.loggers.WandbLogger"
CSV = "lightning_paretopo.loggers.RunCSVLogger"


def _config(wandb_class: str = OURS, data: str = "lightning_paretopo.data.ArithDataModule",
            kind: str | None = None) -> Namespace:  # fmt: skip
    loggers = [
        Namespace(class_path=wandb_class, init_args=Namespace(id=None, tags=None, group=None,
                                                              job_type=None, config=None)),
        Namespace(class_path=CSV, init_args=Namespace(resume=False)),
    ]  # fmt: skip
    return Namespace(
        seed_everything=3,
        trainer=Namespace(logger=loggers),
        data=Namespace(class_path=data, init_args=Namespace(kind=kind)),
    )


def _fill(config: Namespace, run_dir: Path, subcommand: str, resuming: bool) -> Namespace:
    """Fill as the CLI does, recording a drawn id as the CLI does once the classes are built."""
    drawn = fill_loggers(config, run_dir, subcommand, resuming, "quickstart", "paretopo")
    if drawn is not None:
        record_run_id(run_dir, drawn)
    return config.trainer.logger[0].init_args


def test_a_new_fit_records_its_id_and_a_resumed_fit_continues_it(tmp_path: Path) -> None:
    first = _fill(_config(), tmp_path, "fit", resuming=False)
    assert len(first.id) == 8 and first.id.isalnum() and "resume" not in first
    assert read_run_id(tmp_path) == first.id
    assert json.loads((tmp_path / RUN_FILE).read_text()) == {"id": first.id}
    assert first.group == "quickstart/paretopo" and first.job_type == "fit"
    assert first.tags == ["method:paretopo", "task:arith", "seed:3", "experiment:quickstart"]
    assert first.config == {"run/method": "paretopo", "run/task": "arith", "run/seed": 3,
                            "run/experiment": "quickstart"}  # fmt: skip

    config = _config()
    resumed = _fill(config, tmp_path, "fit", resuming=True)
    assert resumed.id == first.id and resumed.resume == "allow"
    assert config.trainer.logger[1].init_args.resume is True  # the CSV continues its version


def test_a_new_fit_after_a_crash_before_any_checkpoint_is_a_new_run(tmp_path: Path) -> None:
    first = _fill(_config(), tmp_path, "fit", resuming=False).id
    second = _fill(_config(), tmp_path, "fit", resuming=False).id
    assert second != first and read_run_id(tmp_path) == second


def test_validate_and_test_get_runs_of_their_own(tmp_path: Path) -> None:
    fit_id = _fill(_config(), tmp_path, "fit", resuming=False).id
    config = _config()
    args = _fill(config, tmp_path, "test", resuming=True)
    assert args.id is None and args.job_type == "test"
    assert config.trainer.logger[1].init_args.resume is False
    assert read_run_id(tmp_path) == fit_id  # untouched


def test_resuming_without_a_recorded_id_starts_a_new_run(tmp_path: Path, caplog) -> None:
    args = _fill(_config(), tmp_path, "fit", resuming=True)
    assert args.id == read_run_id(tmp_path) and "resume" not in args
    assert "starts a new W&B run" in caplog.text


def test_filling_writes_nothing(tmp_path: Path) -> None:
    drawn = fill_loggers(_config(), tmp_path / "run", "fit", False, "e", "m")
    assert drawn is not None and not (tmp_path / "run").exists()  # bad configs leave no dir


def test_a_stock_wandb_logger_gets_the_id_only(tmp_path: Path) -> None:
    args = _fill(_config(STOCK), tmp_path, "fit", resuming=False)
    assert args.id == read_run_id(tmp_path) and args.tags is None and args.group is None


def test_task_name() -> None:
    assert task_name(_config()) == "arith"
    assert task_name(_config(data="lightning_paretopo.data.KBQADataModule")) == "kbqa"
    assert task_name(_config(data="x.FileTaskDataModule", kind="gsm8k")) == "gsm8k"
