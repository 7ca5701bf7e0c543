"""``LastCheckpoint``: a resumable ``last.ckpt`` after every validation, one file, never more."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning import LightningModule
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from lightning_paretopo.callbacks import LastCheckpoint
from tests.helpers import make_trainer


class _Linear(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.layer(batch[0]).pow(2).mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=4)

    def val_dataloader(self):
        return DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=4)


class _Watch(Callback):
    """Records, at the start of each step, the step stored in ``last.ckpt`` (None if absent)."""

    def __init__(self, dirpath: Path) -> None:
        self.dirpath, self.seen = dirpath, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        last = self.dirpath / "last.ckpt"
        saved = torch.load(last, weights_only=True)["global_step"] if last.is_file() else None
        self.seen.append((trainer.global_step, saved))


def _fit(tmp_path: Path, checkpoint: Callback) -> list[tuple[int, int | None]]:
    watch = _Watch(tmp_path / "ckpt")
    trainer = make_trainer(
        tmp_path, 5, [checkpoint, watch], val_check_interval=2, enable_checkpointing=True
    )
    trainer.fit(_Linear())
    return watch.seen


def test_last_ckpt_is_written_after_every_validation_and_only_one_file(tmp_path) -> None:
    seen = _fit(tmp_path, LastCheckpoint(dirpath=tmp_path / "ckpt"))
    # validation after steps 2 and 4: from then on last.ckpt holds that step
    assert seen == [(0, None), (1, None), (2, 2), (3, 2), (4, 4)]
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["last.ckpt"]
    assert torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["global_step"] == 5


def test_the_lightning_trap_it_replaces(tmp_path) -> None:
    """Pins Lightning 2.6: ``save_top_k=0, save_last=True`` writes last.ckpt only at the end,
    so a run killed mid-way has none. If this fails, Lightning changed and the subclass could go."""
    trap = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    seen = _fit(tmp_path, trap)
    assert all(saved is None for _, saved in seen)
    assert (tmp_path / "ckpt" / "last.ckpt").is_file()


def test_it_takes_no_saving_options() -> None:
    with pytest.raises(TypeError):
        LastCheckpoint(dirpath=None, save_top_k=3)  # type: ignore[call-arg]
