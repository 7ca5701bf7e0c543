"""FrontLogger and front_table: a real Trainer on the stand-in module, CSV and offline W&B."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import pytest
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, WandbLogger

from lightning_paretopo.callbacks import FrontLogger, StageSwitch, front_table

from .standin import STANDIN_WARNINGS, StandInModule, StopAt, hv_after, loader, make_trainer

pytestmark = STANDIN_WARNINGS

PNG_SHAPE = (540, 1600, 4)  # plot_run_fronts default: 16 x 5.4 inches at 100 dpi, RGBA


def fit(tmp_path: Path, callbacks: list, max_steps: int = 12, **kwargs):
    module = StandInModule()
    trainer = make_trainer(
        tmp_path, max_steps, callbacks, val_check_interval=3, limit_val_batches=1, **kwargs
    )
    trainer.fit(module, loader(), loader(4))
    return module, trainer


def test_front_table_pinned() -> None:
    history = [
        {"step": 3, "accuracy": 0.3, "tool_calls": 2.0, "tool_productivity": 0.15, "hv": 0.15,
         "stage": 1, "weights": [0.5, 0.5], "point": [0.3, 0.5]},
        {"step": 6, "accuracy": 0.5, "tool_calls": 2.5, "tool_productivity": 0.2, "hv": 0.225,
         "stage": 1, "weights": [0.6, 0.4], "point": [0.5, 0.375]},
        {"step": 9, "accuracy": 0.45, "tool_calls": 1.5, "tool_productivity": 0.3, "hv": 0.2875,
         "stage": 2, "weights": [0.7, 0.3], "point": [0.45, 0.625]},
    ]  # fmt: skip
    columns, rows = front_table(history, ["accuracy", "tool_efficiency"])
    assert columns == [
        "step", "accuracy", "tool_calls", "tool_productivity", "hv", "stage",
        "w_accuracy", "w_tool_efficiency", "non_dominated",
    ]  # fmt: skip
    # (0.3, 0.5) is dominated by (0.45, 0.625); the other two trade off
    assert rows == [
        [3, 0.3, 2.0, 0.15, 0.15, 1, 0.5, 0.5, False],
        [6, 0.5, 2.5, 0.2, 0.225, 1, 0.6, 0.4, True],
        [9, 0.45, 1.5, 0.3, 0.2875, 2, 0.7, 0.3, True],
    ]
    # without normalised points: (fewer calls, higher accuracy) decides, same answer here
    bare = [{k: v for k, v in h.items() if k != "point"} for h in history]
    assert [r[-1] for r in front_table(bare, ["accuracy", "tool_efficiency"])[1]] == [
        False, True, True,
    ]  # fmt: skip
    # a point with a NaN entry is not in val/hv's set: False, and the others compare as before
    nan_row = dict(history[2], step=12, point=[float("nan"), 0.9])
    assert [r[-1] for r in front_table([*history, nan_row], ["a", "b"])[1]] == [
        False, True, True, False,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="objective_names"):
        front_table(history, ["accuracy"])
    assert front_table([], ["a"]) == (columns[:6] + ["w_a", "non_dominated"], [])


def test_writes_png_after_the_module_update(tmp_path: Path) -> None:
    fronts = FrontLogger()
    logger = CSVLogger(tmp_path, name="run")
    module, trainer = fit(tmp_path, [StageSwitch(patience=3, min_delta=1e-3), fronts],
                          logger=logger)  # fmt: skip
    assert [h["step"] for h in module.val_history] == [3, 6, 9, 12]
    # on_validation_end sees the module's record of the same validation (step 12, not 9)
    assert fronts.last_logged_step == 12
    path = Path(trainer.log_dir) / "fronts.png"
    assert fronts.last_path == path and path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    assert image.shape == PNG_SHAPE
    assert image[..., :3].std() > 0.05  # not blank
    # panels (b) and (c) read the module's record (step 0 = the start of training)
    assert [h["step"] for h in module.train_history] == list(range(13))
    assert [h["hv"] for h in module.train_history] == pytest.approx(
        [hv_after(s) for s in range(13)]
    )
    assert all(math.isclose(sum(h["weights"]), 1.0) for h in module.train_history)


def test_dirpath_and_sanity_check(tmp_path: Path) -> None:
    fronts = FrontLogger(dirpath=tmp_path / "pics", filename="run.png")
    module, _ = fit(tmp_path, [fronts], max_steps=3, num_sanity_val_steps=1)
    assert len(module.val_history) == 1  # the sanity check appended nothing, and logged nothing
    assert matplotlib.image.imread(tmp_path / "pics" / "run.png").shape == PNG_SHAPE
    with pytest.raises(ValueError, match="filename"):
        FrontLogger(filename="fronts.jpg")


def test_keeps_no_state_and_reads_the_resumed_history(tmp_path: Path) -> None:
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=1)
    first, first_module = FrontLogger(dirpath=tmp_path), StandInModule()
    trainer = make_trainer(
        tmp_path, 12, [first, ckpt, StopAt(5)], limit_val_batches=0, enable_checkpointing=True
    )
    trainer.fit(first_module, loader())
    assert first.state_dict() == {}  # the history is the module's, in the module's checkpoint
    assert [h["step"] for h in first_module.train_history] == [0, 1, 2, 3, 4, 5]
    resumed, module = FrontLogger(dirpath=tmp_path), StandInModule()
    trainer = make_trainer(tmp_path, 12, [resumed], val_check_interval=3, limit_val_batches=1)
    trainer.fit(module, loader(), loader(4), ckpt_path=tmp_path / "ckpt" / "last.ckpt")
    assert module.train_history[:6] == first_module.train_history
    assert [h["step"] for h in module.train_history] == list(range(13))
    assert resumed.last_path is not None and resumed.last_path.stat().st_size > 10_000


def test_offline_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(save_dir=tmp_path, offline=True, project="paretopo-test")
    fronts = FrontLogger()
    try:
        module, _ = fit(tmp_path, [fronts], max_steps=3, logger=logger)
        run_dir = Path(logger.experiment.dir)
    finally:
        import wandb

        wandb.finish()
    assert len(module.val_history) == 1
    assert matplotlib.image.imread(tmp_path / "fronts.png").shape == PNG_SHAPE
    tables = sorted(p.name for p in (run_dir / "media" / "table" / "val").glob("*.json"))
    assert len(tables) == 1, tables  # the front table of the one validation
