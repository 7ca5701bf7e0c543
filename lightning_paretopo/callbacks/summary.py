"""``RunSummary``: the warm-start and final test points of a run, in ``summary.json``.

At fit start (not on resume: the first point is kept in the callback state) the policy is rolled
out once on the DataModule's test set; at fit end again. Each point has accuracy, tool_calls,
tool_productivity and hypervolume (the HV of the point's normalised reward vector against the
zero reference, i.e. the product of its coordinates). ``summary.json`` in the run directory also
holds the method, the decoding of the evaluation (greedy, or sampled at the training
temperature: ``rollout.val_greedy``), whether the final point dominates the start point
(accuracy not lower, fewer tool calls), the switch step and the wall time of the fit. At the
end the two points are logged side by side (INFO) and handed to every logger that has
``log_test_points`` (``loggers.RunWandbLogger``: W&B summary fields and a table) (``format_report``), with the paths of the plot and
of the summary. When the module's ``zero_advantage_watch`` saw a stretch of training steps with
every advantage 0 (``diagnostics.ZeroAdvantageWatch``), ``summary.json`` holds it under
``zero_advantage`` and the report ends with a WARNING line saying what to check.

With ``start_cache_dir`` the start point is looked up in, and saved to, a cache of start points
(``callbacks.start_cache``): the benchmark's methods of one seed share one start point, so it is
computed once; ``summary.json`` then marks it ``"cached": true``.

Rank 0 evaluates the whole test set; other ranks skip (nothing here communicates).
Deliberately not done: no per-tier breakdown (see ``warmstart.evaluate`` for the warm start's).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback

from lightning_paretopo.callbacks.fronts import FrontLogger
from lightning_paretopo.callbacks.progress_log import logged_progress
from lightning_paretopo.callbacks.start_cache import load_start, save_start, start_key
from lightning_paretopo.pareto import hypervolume

log = logging.getLogger(__name__)


def point_record(result: dict[str, Any]) -> dict[str, Any]:
    """The reported fields of one evaluation (``ParetoPOModule.evaluate``) of ``n`` rollouts,
    ``samples_per_task`` per task."""
    point = torch.tensor(result["point"], dtype=torch.float64)  # [K]
    hv = 0.0 if torch.isnan(point).any() else hypervolume(point[None], torch.zeros_like(point))
    samples = result["samples_per_task"]
    return {
        "n": result["n"],
        "tasks": result["n"] // samples,
        "samples_per_task": samples,
        "accuracy": result["accuracy"],
        "tool_calls": result["tool_calls"],
        "tool_productivity": result["tool_productivity"],
        "hypervolume": hv,
        "point": result["point"],
    }


class RunSummary(Callback):
    """Evaluate on the test set before and after training and write ``summary.json``.

    Args:
        dirpath: where summary.json goes; default the trainer's log_dir (or default_root_dir).
        evaluate_start: also evaluate the starting (warm-start) policy.
        start_cache_dir: a directory caching start points across runs (None: no cache).
    """

    def __init__(
        self,
        dirpath: str | None = None,
        evaluate_start: bool = True,
        start_cache_dir: str | None = None,
    ) -> None:
        self.dirpath = dirpath
        self.evaluate_start = evaluate_start
        self.start_cache_dir = start_cache_dir
        self.start: dict[str, Any] | None = None
        self.elapsed_s = 0.0
        self._t0 = 0.0

    def run_dir(self, trainer: pl.Trainer) -> Path:
        return Path(self.dirpath or trainer.log_dir or trainer.default_root_dir)

    def _evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        """One test point; logs progress lines (minutes on a CPU) as its batches finish."""
        loader = trainer.datamodule.test_dataloader()
        return point_record(
            pl_module.evaluate(logged_progress(loader, "test-point batch", logger=log))
        )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._t0 = time.perf_counter()
        if self.evaluate_start and self.start is None and trainer.is_global_zero:
            self.start = self._start_point(trainer, pl_module)
            log.info("start point: %s", _line(self.start))

    def _start_point(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        key = None
        if self.start_cache_dir is not None:
            key = start_key(pl_module, trainer.datamodule.test_dataloader())
            cached = load_start(self.start_cache_dir, key)
            if cached is not None:
                log.info("start point from the cache %s/%s.json", self.start_cache_dir, key)
                return cached | {"cached": True}
        log.info("evaluating the starting policy on the test set")
        record = self._evaluate(trainer, pl_module)
        if key is not None:
            save_start(self.start_cache_dir, key, record)
        return record

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.elapsed_s += time.perf_counter() - self._t0
        if not trainer.is_global_zero:
            return
        final = self._evaluate(trainer, pl_module)
        summary = {
            "method": getattr(pl_module, "method", None),
            "decoding": decoding(pl_module),
            "start": self.start,
            "final": final,
            "final_dominates_start": None if self.start is None else improves(final, self.start),
            "switch_step": getattr(pl_module, "switch_step", None),
            "global_step": trainer.global_step,
            "wall_time_s": round(self.elapsed_s, 1),
            "zero_advantage": zero_advantage(pl_module),
        }
        path = self.run_dir(trainer) / "summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2))
        plots = [
            c.run_dir(trainer) / c.filename for c in trainer.callbacks if isinstance(c, FrontLogger)
        ]
        for logger in trainer.loggers:  # RunWandbLogger: summary fields and a table
            if hasattr(logger, "log_test_points"):
                logger.log_test_points(summary)
        report = format_report(summary, path, plots[0] if plots else None)
        (log.warning if summary["zero_advantage"] else log.info)("%s", report)

    def state_dict(self) -> dict[str, Any]:
        return {"start": self.start, "elapsed_s": self.elapsed_s}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.start = state_dict["start"]
        self.elapsed_s = state_dict["elapsed_s"]


def decoding(pl_module: pl.LightningModule) -> str | None:
    """ "greedy" or "sampled (T=<temperature>)": how the test rollouts were decoded."""
    rollout = getattr(pl_module, "rollout_args", None)
    if rollout is None:
        return None
    return "greedy" if rollout.val_greedy else f"sampled (T={rollout.temperature:g})"


def zero_advantage(pl_module: pl.LightningModule) -> dict[str, Any] | None:
    """{"stretches": [[first, last global step, steps], ...], "warning": text} when the
    module's ``zero_advantage_watch`` saw a stretch of all-zero advantages, else None."""
    watch = getattr(pl_module, "zero_advantage_watch", None)
    report = None if watch is None else watch.report()
    if report is None:
        return None
    return {"stretches": [list(s) for s in watch.stretches], "warning": report}


def improves(final: dict[str, Any], start: dict[str, Any]) -> bool:
    """The quickstart's claim: accuracy not lower and strictly fewer tool calls."""
    return final["accuracy"] >= start["accuracy"] and final["tool_calls"] < start["tool_calls"]


def format_report(summary: dict[str, Any], path: Path, plot: Path | None) -> str:
    """The end-of-fit lines: the start and final points side by side, then where things are."""
    fields = ("accuracy", "tool_calls", "tool_productivity", "hypervolume")
    rows = [("start", summary["start"]), ("final", summary["final"])]
    final = summary["final"]
    tasks, samples = final["tasks"], final["samples_per_task"]
    per_task = f" x {samples} samples" if samples > 1 else ""
    lines = [
        f"{summary.get('method')}: test points on {tasks} held-out tasks{per_task}, "
        f"{summary.get('decoding')}",
        f"  {'':12}" + "".join(f"{f:>19}" for f in fields),
    ]
    for name, rec in rows:
        if rec is not None:
            lines.append(f"  {name:12}" + "".join(f"{rec[f]:>19.3f}" for f in fields))
    if summary.get("final_dominates_start") is not None:
        verdict = "yes" if summary["final_dominates_start"] else "no"
        lines.append(f"  final dominates start (accuracy not lower, fewer calls): {verdict}")
    lines.append(f"  switch step {summary.get('switch_step')}, fit {summary['wall_time_s']} s")
    if summary.get("zero_advantage"):
        lines.append(f"  WARNING: {summary['zero_advantage']['warning']}")
    if plot is not None:
        lines.append(f"  fronts plot: {plot}")
    lines.append(f"  summary:     {path}")
    return "\n".join(lines)


def _line(record: dict[str, Any]) -> str:
    return (
        f"accuracy {record['accuracy']:.3f}  tool_calls {record['tool_calls']:.3f}  "
        f"tool_productivity {record['tool_productivity']:.3f}  hv {record['hypervolume']:.4f}  "
        f"(n={record['n']} rollouts)"
    )
