"""The step at which Lightning logs the metrics of the batch or validation in progress.

Lightning logs a training batch's ``self.log`` values, and a validation's, at the number of
batches stepped so far (``fit_loop.epoch_loop._batches_that_stepped``), which during the batch
hooks is one less than ``global_step`` once the optimizer has stepped. Anything a callback logs
directly (``logger.log_metrics``) must use the same step: a W&B run whose step is the global
step refuses a step below the last one it saw, so a value logged at ``global_step`` from
``on_train_batch_end`` would make W&B drop the whole batch's metrics, logged just after.
"""

from __future__ import annotations

import lightning.pytorch as pl


def log_step(trainer: pl.Trainer) -> int:
    """The step Lightning logs the current batch's (or validation's) metrics at."""
    if trainer.state.fn == "fit":
        return int(trainer.fit_loop.epoch_loop._batches_that_stepped)
    return int(trainer.global_step)
