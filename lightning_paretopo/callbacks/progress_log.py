"""``ProgressLog``: progress lines through ``logging`` when stdout is not a terminal.

Contract:
    Under nohup, CI or a pipe, stdout is not a TTY: Lightning's progress bar then writes
    carriage-return updates into a block-buffered stream, and a run shows nothing readable for
    minutes. In that case (or always, with ``always=True``) ``ProgressLog`` logs INFO lines
    from global rank zero:

    - ``train step 120/406 (30%) | train/loss 1.234 | elapsed 45s | ETA 1m48s`` after the first
      optimizer step of the run, then whenever ``every_s`` seconds have passed since the last
      line (or ``every_n_steps`` steps, when set), and after the last step;
    - ``val batch 3/8 (38%) | elapsed 4s | ETA 7s`` at the same rate during validation and
      test (not during the sanity check), then ``val done: 8 batches in 12s | val/loss 0.52``.

    The numbers are the progress-bar metrics (``self.log(..., prog_bar=True)``): the train line
    shows those not starting with ``val``/``test``, a validation or test line those of its own
    stage. ETA = elapsed / steps done in this run x steps left; with no finite total
    (``trainer.estimated_stepping_batches`` is inf) the line has no total and no ETA.

    ``ProgressClock`` is the rate rule and ``progress_line`` the format, both usable outside a
    Trainer (the warm start's rollout evaluation logs with them).

Deliberately not done: the progress bar is left as configured (it still writes to stdout);
no per-rank lines; no metrics beyond the progress-bar ones (the loggers have them all).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

log = logging.getLogger(__name__)


def format_duration(seconds: float) -> str:
    """``45s``, ``1m48s``, ``2h03m``; ``?`` for a non-finite or negative value."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress_line(
    what: str,
    done: int,
    total: float,
    elapsed_s: float,
    done_here: int | None = None,
    metrics: Mapping[str, float] | None = None,
) -> str:
    """``<what> <done>/<total> (<pct>) | <metrics> | elapsed .. | ETA ..``.

    Args:
        what: e.g. "train step", "val batch".
        done: units done so far (including those done before a resume).
        total: the total number of units; inf or nan for unknown (no ETA then).
        elapsed_s: seconds since this run's first unit started.
        done_here: units done in this run (default ``done``); the ETA's rate is per these.
        metrics: name -> value, shown with 4 significant digits.
    """
    done_here = done if done_here is None else done_here
    parts = [f"{what} {done}"]
    if math.isfinite(total) and total > 0:
        parts[0] += f"/{int(total)} ({100 * done / total:.0f}%)"
    parts += [f"{k} {v:.4g}" for k, v in (metrics or {}).items()]
    parts.append(f"elapsed {format_duration(elapsed_s)}")
    if math.isfinite(total) and total > 0 and done_here > 0:
        parts.append(f"ETA {format_duration(elapsed_s / done_here * max(total - done, 0))}")
    return " | ".join(parts)


class ProgressClock:
    """When to log: the first unit, the last one, and then every ``every_s`` seconds (or every
    ``every_n`` units when set), whichever comes first.

    Args:
        every_s: seconds between lines.
        every_n: units between lines; None: by time only.
    """

    def __init__(self, every_s: float = 30.0, every_n: int | None = None) -> None:
        if not every_s >= 0:
            raise ValueError(f"every_s must be >= 0 seconds, got {every_s!r}")
        if every_n is not None and every_n < 1:
            raise ValueError(f"every_n (every_n_steps) must be >= 1 or None, got {every_n!r}")
        self.every_s, self.every_n = every_s, every_n
        self.restart(0)

    def restart(self, done: int) -> None:
        """Start timing a run that has ``done`` units behind it already."""
        self.start = self.last = time.monotonic()
        self.done_before = self.last_done = done

    def due(self, done: int, total: float) -> bool:
        """True when the line for ``done`` units should be logged (then it counts as logged)."""
        if done <= self.last_done:
            return False
        now = time.monotonic()
        due = (
            self.last_done == self.done_before
            or done >= total
            or now - self.last >= self.every_s
            or (self.every_n is not None and done - self.last_done >= self.every_n)
        )
        if due:
            self.last, self.last_done = now, done
        return due

    def line(
        self, what: str, done: int, total: float, metrics: Mapping[str, float] | None = None
    ) -> str:
        """``progress_line`` with this clock's elapsed time and rate."""
        elapsed = time.monotonic() - self.start
        return progress_line(what, done, total, elapsed, done - self.done_before, metrics)


def logged_progress(
    batches: Iterable[Any], what: str, every_s: float = 30.0, logger: logging.Logger = log
) -> Iterator[Any]:
    """Yields ``batches`` and logs ``<what> <done>/<total>`` lines (``ProgressClock``'s rate)
    as each batch is finished, i.e. when the next one is asked for."""
    total = len(batches) if isinstance(batches, Sized) else math.inf
    clock = ProgressClock(every_s)
    for done, batch in enumerate(batches, start=1):
        yield batch
        if clock.due(done, total):
            logger.info(clock.line(what, done, total))


def _bar_metrics(trainer: pl.Trainer, stage: str | None) -> dict[str, float]:
    """Progress-bar metrics of ``stage`` ("val"/"test"), or of training for None."""
    metrics = {}
    for key, value in trainer.progress_bar_metrics.items():
        is_eval = key.startswith(("val", "test"))
        if (key.startswith(stage) if stage else not is_eval) and isinstance(value, int | float):
            metrics[key] = float(value)
    return metrics


class ProgressLog(Callback):
    """Logs progress lines when stdout is not a terminal (see the module docstring).

    Args:
        every_s: seconds between lines.
        every_n_steps: also log every this many steps or batches; None: by time only.
        always: log even when stdout is a terminal.
    """

    def __init__(
        self, every_s: float = 30.0, every_n_steps: int | None = None, always: bool = False
    ) -> None:
        self.train_clock = ProgressClock(every_s, every_n_steps)
        self.eval_clock = ProgressClock(every_s, every_n_steps)
        self.always = always
        self.enabled = False
        self.eval_done = 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.enabled = trainer.is_global_zero and (self.always or not _stdout_is_a_terminal())

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.train_clock.restart(trainer.global_step)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        total = float(trainer.estimated_stepping_batches)
        if self.enabled and self.train_clock.due(trainer.global_step, total):
            metrics = _bar_metrics(trainer, None)
            log.info(self.train_clock.line("train step", trainer.global_step, total, metrics))

    def _eval_batch_end(self, trainer: pl.Trainer, stage: str) -> None:
        self.eval_done += 1
        totals = trainer.num_val_batches if stage == "val" else trainer.num_test_batches
        total = float(sum(totals))
        if (
            self.enabled
            and not trainer.sanity_checking
            and self.eval_clock.due(self.eval_done, total)
        ):
            log.info(self.eval_clock.line(f"{stage} batch", self.eval_done, total))

    def _eval_end(self, trainer: pl.Trainer, stage: str) -> None:
        if self.enabled and not trainer.sanity_checking:
            elapsed = format_duration(time.monotonic() - self.eval_clock.start)
            metrics = [f"{k} {v:.4g}" for k, v in _bar_metrics(trainer, stage).items()]
            log.info(" | ".join([f"{stage} done: {self.eval_done} batches in {elapsed}", *metrics]))

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.eval_clock.restart(0)
        self.eval_done = 0

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.on_validation_start(trainer, pl_module)

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._eval_batch_end(trainer, "val")

    def on_test_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._eval_batch_end(trainer, "test")

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._eval_end(trainer, "val")

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._eval_end(trainer, "test")


def _stdout_is_a_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


__all__ = ["ProgressClock", "ProgressLog", "format_duration", "progress_line"]
