"""The run's front, as a table and a picture (ALGORITHM.md, "What a run must report").

Contract. ``FrontLogger`` reads ``pl_module.val_history`` (one record per validation, appended
by the module in its ``on_validation_epoch_end``) and, after each validation outside the
sanity check, on global rank 0:

- writes ``plots.plot_run_fronts`` to ``<run dir>/fronts.png`` (overwritten each time). The run
  directory is ``dirpath`` when given, else ``trainer.log_dir`` (CSV/TensorBoard: the logger's
  version directory; W&B and other loggers: their ``save_dir``; no logger:
  ``default_root_dir``), else ``trainer.default_root_dir``;
- with a ``WandbLogger`` among ``trainer.loggers``: logs ``val/front_table`` (a ``wandb.Table``,
  columns from ``front_table``), ``val/front_scatter`` (``wandb.plot.scatter`` of tool_calls vs
  accuracy) and ``val/fronts`` (the PNG) through the logger's ``log_metrics`` at the global step.

Hook choice. In Lightning 2.6 the evaluation loop calls ``on_validation_epoch_end`` on the
callbacks BEFORE the LightningModule (``loops/evaluation_loop.py``,
``_on_evaluation_epoch_end``: ``_call_callback_hooks`` then ``_call_lightning_module_hook``), so
a callback's ``on_validation_epoch_end`` would miss the module's newest record. This callback
therefore uses ``on_validation_end``, which runs after the epoch-end hooks of both (and before
``ModelCheckpoint``, which Lightning moves to the end of the callback list, so a checkpoint
saved at that validation includes this callback's state).

Panels (b) and (c) read the module's one record of the training HV and of the weights each
step trained with (stage 1's, a method's static ones, or w* after the switch),
``pl_module.train_history`` (``run_state.RunState``); this callback keeps no state of its own. The ``non_dominated`` column marks the validation records whose normalised
K-vector ``point`` no other record's dominates (the set whose HV is ``val/hv``; a point with a
NaN entry is left out of it and marked False); a record without ``point`` makes every row
use (-tool_calls, accuracy) instead.

Not done here: computing val/hv or the validation metrics (the module does).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import WandbLogger

from lightning_paretopo.callbacks.stage_switch import method_name
from lightning_paretopo.loggers.steps import log_step
from lightning_paretopo.pareto import is_non_dominated
from lightning_paretopo.plots import plot_run_fronts

log = logging.getLogger(__name__)

_BASE_COLUMNS = ["step", "accuracy", "tool_calls", "tool_productivity", "hv", "stage"]


def front_table(
    history: Sequence[Mapping[str, Any]], objective_names: Sequence[str]
) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the front table: one row per validation record.

    Columns: step, accuracy, tool_calls, tool_productivity, hv, stage, ``w_<objective>`` per
    objective, non_dominated (module docstring).
    """
    columns = _BASE_COLUMNS + [f"w_{name}" for name in objective_names] + ["non_dominated"]
    if not history:
        return columns, []
    if all(h.get("point") is not None for h in history):
        Y = torch.tensor([list(h["point"]) for h in history], dtype=torch.float64)  # [M, K]
    else:
        Y = torch.tensor(
            [[-float(h["tool_calls"]), float(h["accuracy"])] for h in history], dtype=torch.float64
        )  # [M, 2]
    finite = torch.isfinite(Y).all(dim=-1)  # [M]: a point with NaN is not in val/hv's set
    nd_mask = torch.zeros(len(history), dtype=torch.bool)  # [M]
    nd_mask[finite] = is_non_dominated(Y[finite])
    nd = nd_mask.tolist()
    rows = []
    for h, flag in zip(history, nd, strict=True):
        weights = list(h.get("weights") or [float("nan")] * len(objective_names))
        if len(weights) != len(objective_names):
            raise ValueError(
                f"record at step {h['step']} has {len(weights)} weights for "
                f"{len(objective_names)} objective_names"
            )
        base = [int(h["step"])] + [float(h[key]) for key in _BASE_COLUMNS[1:5]]
        rows.append(base + [int(h["stage"])] + [float(w) for w in weights] + [bool(flag)])
    return columns, rows


def _title(pl_module: pl.LightningModule) -> str:
    try:
        return method_name(pl_module)
    except ValueError:
        return type(pl_module).__name__


class FrontLogger(Callback):
    """Write ``fronts.png`` and log the W&B front table after each validation.

    Args:
        dirpath: directory of ``fronts.png``; None for the run directory (module docstring).
        filename: the picture's file name.
        log_wandb: log the table, scatter and picture to every ``WandbLogger`` of the trainer.
    """

    def __init__(
        self,
        dirpath: str | Path | None = None,
        filename: str = "fronts.png",
        log_wandb: bool = True,
    ) -> None:
        if not filename.endswith(".png"):
            raise ValueError(f"filename must end with .png; got {filename!r}")
        self.dirpath = None if dirpath is None else Path(dirpath)
        self.filename = filename
        self.log_wandb = log_wandb
        self.last_path: Path | None = None  # the picture written last
        self.last_logged_step: int | None = None  # step of the newest record logged

    def run_dir(self, trainer: pl.Trainer) -> Path:
        """Where ``fronts.png`` goes: ``dirpath``, else ``trainer.log_dir``, else the root dir."""
        if self.dirpath is not None:
            return self.dirpath
        return Path(trainer.log_dir or trainer.default_root_dir)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        history = list(getattr(pl_module, "val_history", None) or [])
        if not history:
            return
        names = list(getattr(pl_module, "objective_names", []) or [])
        fig = plot_run_fronts(
            history,
            train_history=list(getattr(pl_module, "train_history", None) or []),
            switch_step=getattr(pl_module, "switch_step", None),
            objective_names=names or None,
            title=f"{_title(pl_module)}: step {trainer.global_step}",
        )
        path = self.run_dir(trainer) / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        self.last_path, self.last_logged_step = path, int(history[-1]["step"])
        log.debug("wrote %s (%d validation records)", path, len(history))
        if self.log_wandb:
            wandb_loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
            if wandb_loggers:
                if not names:
                    names = [f"objective_{k}" for k in range(len(history[-1].get("weights", [])))]
                self._log_wandb(wandb_loggers, history, names, path, log_step(trainer))

    @staticmethod
    def _log_wandb(
        loggers: list[WandbLogger],
        history: list[dict[str, Any]],
        names: list[str],
        png: Path,
        step: int,
    ) -> None:
        import wandb  # lazy: only runs that log to W&B need it

        columns, rows = front_table(history, names)
        for logger in loggers:
            table = wandb.Table(columns=columns, data=rows)
            scatter = wandb.plot.scatter(
                table, "tool_calls", "accuracy", title="validation: accuracy vs tool calls"
            )
            media = {"val/front_table": table, "val/front_scatter": scatter,
                     "val/fronts": wandb.Image(str(png))}  # fmt: skip
            logger.log_metrics(media, step=step)  # RunWandbLogger: W&B step = global step

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Accepts (and ignores) the state of checkpoints from before ``run_state.RunState``:
        the module rebuilds the history from it."""
