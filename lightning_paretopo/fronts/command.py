"""``python -m lightning_paretopo fronts <folder>``: the fronts of many runs side by side.

Reads every finished run under the folder (``runs.find_runs``), prints the per-method table,
writes ``<out>/fronts.png`` and ``<out>/fronts.html`` (default ``<out>``: the folder) and, unless
``--no-wandb``, logs the same table, the per-run points and the figure to W&B as one comparison
run (``job_type: fronts``; offline unless ``WANDB_MODE`` says otherwise; its files under
``<out>/wandb``). Exit code 1 with a message when the folder holds no finished run.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from pathlib import Path

import matplotlib

from lightning_paretopo.fronts.compare import STATS, method_rows, render_markdown
from lightning_paretopo.fronts.figure import plot_fronts
from lightning_paretopo.fronts.page import render_page
from lightning_paretopo.fronts.runs import RunPoints, find_runs, unfinished_runs

log = logging.getLogger(__name__)


def log_comparison(runs: list[RunPoints], png: Path, out: Path, name: str) -> str:
    """One W&B run holding the per-method and per-run tables and the figure; returns its dir."""
    import wandb

    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    rows = method_rows(runs)
    methods = wandb.Table(
        columns=["method", "runs", *(f"{f}_mean" for f in STATS), *(f"{f}_std" for f in STATS),
                 "front_hv"],
        data=[[r.method, len(r.seeds), *(r.stats[f][0] for f in STATS),
               *(r.stats[f][1] for f in STATS), r.front_hv] for r in rows],
    )  # fmt: skip
    per_run = wandb.Table(
        columns=["run", "method", "seed", "accuracy", "tool_calls", "hypervolume"],
        data=[[r.name, r.method, r.seed, *(r.final.get(f) for f in STATS)] for r in runs],
    )
    run = wandb.init(project="lightning-paretopo", name=name, job_type="fronts",
                     dir=str(out), tags=["fronts"], reinit="finish_previous")  # fmt: skip
    try:
        run.log(
            {
                "fronts/methods": methods,
                "fronts/runs": per_run,
                "fronts/figure": wandb.Image(str(png)),
            }
        )
        return str(run.dir)
    finally:
        run.finish()


def fronts(
    folder: Path, out: Path | None = None, title: str | None = None, wandb_log: bool = True
) -> int:
    """Run the command; returns the exit code."""
    runs, unfinished = find_runs(folder), unfinished_runs(folder)
    for path in unfinished:
        print(f"skipped {path}: no summary.json (not finished)", file=sys.stderr)
    if not runs:
        print(f"{folder}: no finished run (no */summary.json); train one first, e.g. "
              "`make train`", file=sys.stderr)  # fmt: skip
        return 1
    out = Path(out or folder)
    out.mkdir(parents=True, exist_ok=True)
    title = title or f"Fronts of {len(runs)} runs in {folder}"
    rows = method_rows(runs)
    fig = plot_fronts(runs, title=title)
    png, page = out / "fronts.png", out / "fronts.html"
    fig.savefig(png)
    svg = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: searchable
        fig.savefig(svg, format="svg")
    page.write_text(render_page(runs, rows, svg.getvalue(), title, [str(p) for p in unfinished]))
    print(render_markdown(rows))
    print(f"\nwrote {png} and {page}")
    if wandb_log:
        where = log_comparison(runs, png, out, name=f"fronts-{Path(folder).resolve().name}")
        print(f"logged the comparison to W&B: {where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_paretopo fronts",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("folder", type=Path, help="a folder of runs, e.g. logs/quickstart or logs")
    parser.add_argument(
        "--out", type=Path, help="where fronts.png / fronts.html go (default: folder)"
    )
    parser.add_argument("--title", help="the figure's and page's title")
    parser.add_argument("--no-wandb", action="store_true", help="do not log a W&B comparison run")
    args = parser.parse_args(argv)
    return fronts(args.folder, args.out, args.title, wandb_log=not args.no_wandb)
