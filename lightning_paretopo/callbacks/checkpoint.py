"""``LastCheckpoint``: one resumable ``last.ckpt``, rewritten after every validation.

Contract:
    During ``fit``, after each validation (not during the sanity check) and at the end of
    training, the full training state is written to ``<dirpath>/last.ckpt``: policy (or, with
    LoRA, what the module puts in its state dict), optimizer, loops, data position, the module's
    ParetoPO state and every callback's ``state_dict``. ``--ckpt_path last`` then resumes from
    the last validation after a crash or ``kill -9``. There is only ever this one file (no
    pile-up), and it is replaced atomically: Lightning's ``_atomic_save`` writes through an
    fsspec transaction (a temporary file, then a rename), so a kill during a save leaves the
    previous ``last.ckpt`` intact.

Why a subclass: Lightning 2.6's ``ModelCheckpoint(save_top_k=0, save_last=True)`` writes
``last.ckpt`` only when training ends (it saves "last" after validation only when a top-k file
was saved at the same step), so a killed run left nothing and ``--ckpt_path last`` silently
started from step 0. ``save_top_k=1`` with ``save_last`` would keep two files (or a symlink
that a kill can leave dangling). Why after validation and not ``every_n_train_steps``: Lightning
writes step-triggered checkpoints before that step's validation and skips it on resume (see
tests/module/test_resume.py), so the resumed run would lack one validation record.

Before each write, every logger with a ``flush_before_checkpoint`` method gets it called
(``loggers.RunWandbLogger`` commits its pending row and lets W&B write its file), so the logs
of every step the checkpoint holds are on disk before the checkpoint is: a resumed run redoes
exactly the steps after it, and its logs hold each step once.

Deliberately not done: no top-k by a metric (select points on the fronts, not checkpoints), no
save on exception (an exception can come mid-step, with a half-updated state).
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that keeps exactly ``<dirpath>/last.ckpt``, after every validation.

    Args:
        dirpath: the checkpoint folder; None lets the CLI fill in ``<run dir>/checkpoints``
            (a fixed path, so ``--ckpt_path last`` finds it).
    """

    def __init__(self, dirpath: str | Path | None = None) -> None:
        super().__init__(dirpath=dirpath, save_last=True, save_top_k=0)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write ``last.ckpt`` once per validation of a fit (the sanity check excluded)."""
        if self._should_skip_saving_checkpoint(trainer):
            return
        self._write(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the final state unless the last validation already did at this step."""
        if not self._should_skip_saving_checkpoint(trainer):
            self._write(trainer)

    def _write(self, trainer: pl.Trainer) -> None:
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if hasattr(logger, "flush_before_checkpoint"):
                    logger.flush_before_checkpoint()
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
