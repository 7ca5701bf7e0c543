"""``RunWandbLogger``: a ``WandbLogger`` for which one fit is one W&B run, resumes included.

Contract (the CLI fills ``id`` and ``resume``, ``loggers.continuity``):
- W&B's step is Lightning's logging step (``trainer/global_step`` in the row; ``loggers.steps``):
  every log call passes it as ``step``, so the rows of one step (train, val, the front table)
  are one history row and a resumed run's steps continue the first run's axis, offline as
  online.
- ``resume="allow"`` with the fit's ``id`` continues that W&B run. A resume repeats the steps
  between the checkpoint and the kill; those already in the run's local files
  (``wandb_files.logged_steps``) are not logged again, so the run holds every step once (a
  resume is exact, so the values the rerun would log are the ones already there).
- Before each checkpoint the pending row is committed and the logger waits ``checkpoint_flush_s``
  (W&B writes its file every ``x_transaction_log_flush_interval``, 15 s by default, 0.1 s
  here), so a ``kill -9`` after a checkpoint does not lose a step the resumed run will not redo
  (unless W&B's service, a separate process, cannot write within that wait: W&B offers no
  flush call; the CSV log has those rows either way).
- ``log_test_points(summary)``: the start and final test points of ``summary.json`` as W&B
  summary fields (``test/start/accuracy``, ``test/final/hypervolume``, ...) and as the summary
  table ``test/points``, so a W&B project view sorts and groups runs by them.

Non-scalar values (``wandb.Table``, ``wandb.Image``) go through ``log_metrics`` too, with the
same step (``callbacks.FrontLogger``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from lightning.fabric.utilities.logger import _add_prefix
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from lightning_paretopo.loggers.wandb_files import STEP_KEY, logged_steps

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.1
POINT_FIELDS = ("accuracy", "tool_calls", "tool_productivity", "hypervolume", "n", "tasks",
                "samples_per_task")  # fmt: skip


def summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """``summary.json``'s start and final points as flat ``test/<point>/<field>`` entries."""
    out: dict[str, Any] = {}
    for name in ("start", "final"):
        point = summary.get(name) or {}
        out |= {f"test/{name}/{f}": point[f] for f in POINT_FIELDS if point.get(f) is not None}
    if summary.get("final_dominates_start") is not None:
        out["test/final_dominates_start"] = bool(summary["final_dominates_start"])
    for key in ("switch_step", "wall_time_s", "decoding"):
        if summary.get(key) is not None:
            out[f"run/{key}"] = summary[key]
    return out


def _with_flush_interval(settings: Any) -> Any:
    """``settings`` with W&B's file flush interval set to ``FLUSH_INTERVAL_S`` unless given."""
    if settings is None:
        return {"x_transaction_log_flush_interval": FLUSH_INTERVAL_S}
    if isinstance(settings, dict):
        return {"x_transaction_log_flush_interval": FLUSH_INTERVAL_S, **settings}
    return settings  # a wandb.Settings object: the user's choice


class RunWandbLogger(WandbLogger):
    """``WandbLogger`` logging at the trainer's global step, continuing its run on resume.

    Args:
        name: the run's display name (filled: ``<experiment>-<method>-s<seed>``).
        save_dir: where ``wandb/`` goes (filled: the run directory).
        offline: write locally only (``wandb sync`` uploads later).
        id: the W&B run id (filled by the CLI for a fit: new, or the resumed run's).
        resume: W&B's resume mode; ``"allow"`` continues run ``id`` when it exists.
        project: the W&B project.
        group: the W&B group (filled: ``<experiment>/<method>``, the seeds of one method).
        tags: the run's tags (filled: ``method:``, ``task:``, ``seed:``, ``experiment:``).
        job_type: W&B's job type (filled: the subcommand).
        config: extra entries for the run's config (filled: ``run/method``, ``run/seed``, ...).
        log_model: upload checkpoints as artifacts (needs ``offline: false``).
        prefix: a prefix for every metric key.
        checkpoint_flush_s: seconds to wait after a checkpoint for W&B to write its file.
        kwargs: anything else ``wandb.init`` takes.
    """

    def __init__(
        self,
        name: str | None = None,
        save_dir: str = ".",
        offline: bool = False,
        id: str | None = None,  # noqa: A002 - W&B's and WandbLogger's name
        resume: Literal["allow", "must", "never"] | None = None,
        project: str | None = None,
        group: str | None = None,
        tags: list[str] | None = None,
        job_type: str | None = None,
        config: dict[str, Any] | None = None,
        log_model: Literal["all"] | bool = False,
        prefix: str = "",
        checkpoint_flush_s: float = 0.3,
        **kwargs: Any,
    ) -> None:
        # the CLI passes every wandb.init argument, None included
        kwargs["settings"] = _with_flush_interval(kwargs.get("settings"))
        extra = {"group": group, "tags": tags, "job_type": job_type, "config": config}
        extra = {k: v for k, v in extra.items() if v is not None}
        if resume is not None:
            extra["resume"] = resume
        super().__init__(name=name, save_dir=save_dir, offline=offline, id=id, project=project,
                         log_model=log_model, prefix=prefix, **extra, **kwargs)  # fmt: skip
        self._logged: set[int] | None = None  # steps already in the run (read lazily)
        self._pending: int | None = None  # the step of the row not yet committed
        self.checkpoint_flush_s = checkpoint_flush_s

    def _already_logged(self) -> set[int]:
        if self._logged is None:
            self._logged = set()
            if self._wandb_init.get("resume") and self._id:
                wandb_dir = Path(self._save_dir or ".") / "wandb"
                try:
                    self._logged = set(logged_steps(wandb_dir, self._id))
                except (OSError, ValueError) as err:  # an unreadable file: log everything
                    log.warning("could not read W&B run files in %s (%s)", wandb_dir, err)
                if self._logged:
                    log.info("W&B run %s continues after step %d (steps logged before the "
                             "resume are not logged again)", self._id, max(self._logged))  # fmt: skip
        return self._logged

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log at W&B step ``step`` (the global step); a step the run already holds is skipped."""
        metrics = _add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR)
        if step is None:
            self.experiment.log(dict(metrics), commit=False)
            return
        if int(step) in self._already_logged():
            return
        self.experiment.log(dict(metrics, **{STEP_KEY: int(step)}), step=int(step))
        self._pending = int(step)

    @rank_zero_only
    def flush_before_checkpoint(self) -> None:
        """Commit the pending row and give W&B time to write it (``callbacks.LastCheckpoint``
        calls this before it writes): the checkpoint's steps are then in the run file."""
        if self._pending is not None and self._experiment is not None:
            self.experiment.log({}, step=self._pending, commit=True)
            self._pending = None
            time.sleep(self.checkpoint_flush_s)

    @rank_zero_only
    def log_test_points(self, summary: Mapping[str, Any]) -> None:
        """The run's start and final test points as W&B summary fields and the summary table
        ``test/points`` (summary, not history: no step after the last one)."""
        import wandb

        columns = ["point", *POINT_FIELDS]
        rows = [[name, *((summary.get(name) or {}).get(f) for f in POINT_FIELDS)]
                for name in ("start", "final") if summary.get(name)]  # fmt: skip
        table = wandb.Table(columns=columns, data=rows)
        self.experiment.summary.update(summary_fields(summary) | {"test/points": table})
