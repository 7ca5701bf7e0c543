"""``benchmarks/fronts.py report``: the results document and its pictures, from records alone.

Contract. The records under ``--records-dir`` (default ``benchmarks/records``;
``--max-steps N``: ``benchmarks/records-smoke/steps<N>``) become ``--out`` (default
``docs/results.md``); no run directory or ``logs/`` is read, so any machine rebuilds it in
seconds. Per task (``--tasks``, ``--methods``, ``--seeds`` filter): where its records came from
(warm-start hashes, machines, commits), the warm-start point, the table
(``fronts_report.render_table``), the paired table (``paired.render_paired_table``), the switch
step and w* of each run that switched, and PNGs in ``<out dir>/results/``:
``blocks-<task>-fronts.png`` (every method's final test points, its front, the union front and
the warm start, in (tool calls, accuracy) and in the hypervolume's objective space: the cross-run
fronts command's figure, ``lightning_paretopo.fronts.plot_fronts``) and ``blocks-<task>-hv.png`` (val/hv
against step, mean over seeds). Then the across-tasks summary (``paired.render_across``). The
Discussion section between two markers is hand-written: its text survives regeneration;
everything else is overwritten.

Deliberately not done: no numbers or claims beyond what the records hold.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks.fronts_plan import ABLATIONS, COMPARISON, TASKS, V1, expand_methods
from benchmarks.fronts_report import (
    aggregate,
    by_task,
    hv_curve,
    mean_curve,
    method_order,
    provenance_lines,
    render_switch_table,
    render_table,
    select,
    warm_start_line,
)
from benchmarks.fronts_val import render_validation
from benchmarks.paired import render_across, render_paired_table
from benchmarks.provenance import describe_machine, machine_info
from benchmarks.records import default_records_dir, load_records
from lightning_paretopo.fronts import RunPoints
from lightning_paretopo.fronts import plot_fronts as plot_run_points

DISCUSSION_START, DISCUSSION_END = "<!-- discussion:start -->", "<!-- discussion:end -->"
DISCUSSION_PLACEHOLDER = "_To be written by the lead from the tables and pictures above._"
ORDER = list(dict.fromkeys(COMPARISON + V1 + ABLATIONS))
REPO = Path(__file__).resolve().parents[1]
PAIRED_CAPTION = (
    "Paired within blocks (same seed, same warm start): ΔHV = HV(method) − HV(baseline) of the "
    "final test points; wins / losses / ties count seeds (a tie: |ΔHV| ≤ 1e-9); mean ± sample "
    "std over the n seeds both methods have."
)


def kept_discussion(old_text: str | None) -> str:
    """The text between the discussion markers of a previous document, else the placeholder."""
    if old_text and DISCUSSION_START in old_text and DISCUSSION_END in old_text:
        inner = old_text.split(DISCUSSION_START, 1)[1].split(DISCUSSION_END, 1)[0].strip()
        return inner or DISCUSSION_PLACEHOLDER
    return DISCUSSION_PLACEHOLDER


def run_points(records: list[dict[str, Any]], order: list[str]) -> list[RunPoints]:
    """The records as the cross-run fronts command's ``RunPoints`` (methods in ``order``)."""
    out = []
    for method in method_order(records, order):
        for r in sorted((r for r in records if r["method"] == method), key=lambda r: r["seed"]):
            names = r["objectives"]

            def point(p: dict[str, Any] | None, names: list[str] = names) -> dict[str, Any] | None:
                if not p:
                    return None
                vector = [p["point"][n] for n in names]
                return {"accuracy": p["accuracy"], "tool_calls": p["tool_calls"],
                        "hypervolume": p["hv"], "point": vector, "n": p.get("n")}  # fmt: skip

            out.append(RunPoints(Path(r["task"]) / f"{method}-s{r['seed']}", r["task"], method,
                                 r["seed"], names, point(r["final"]), point(r.get("start"))))  # fmt: skip
    return out


def plot_fronts(records: list[dict[str, Any]], order: list[str], title: str) -> Figure:
    """Final test points per method, each method's front, the union front, the warm start,
    in calls and in the hypervolume's objective space (``lightning_paretopo.fronts``)."""
    return plot_run_points(run_points(records, order), title=title)


def plot_hv(curves: dict[str, list[tuple[int, float, int]]], title: str) -> Figure:
    """val/hv against step, one line per method (the mean over its seeds)."""
    fig = Figure(figsize=(10.0, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for m, (method, curve) in enumerate(curves.items()):
        if curve:
            style = {
                "marker": "osD^vP*Xh<>"[m % 11],
                "color": f"C{m % 10}",
                "ls": "-:"[m // 10 % 2],
            }
            ax.plot([c[0] for c in curve], [c[1] for c in curve], label=method, **style)
    ax.set(xlabel="step", ylabel="val/hv (mean over seeds)", title=title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="method")
    return fig


def task_section(task: str, records: list[dict[str, Any]], figures: Path, where: str) -> str:
    """One task's markdown section; writes its PNGs into ``figures`` (linked as
    ``results/<png>``, i.e. ``figures`` is ``results/`` beside the document)."""
    configs = " + ".join(f"`{c}`" for c in TASKS.get(task, ["?"]))
    seeds = sorted({r["seed"] for r in records})
    parts = [f"## {task} ({configs}; records in `{where}/{task}/`)", ""]
    parts += [
        f"Blocks (seeds): {', '.join(map(str, seeds))}. Objectives: {', '.join(records[0]['objectives'])}."
    ]
    short = sorted({r["max_steps"] for r in records if r.get("max_steps") is not None})
    if short:
        parts += [f"**Smoke records, not full runs**: trainer.max_steps {short}."]
    parts += [*provenance_lines(records), "", warm_start_line(records), ""]
    parts += [render_table(aggregate(records, ORDER)), ""]
    pairs = render_paired_table(records, ORDER)
    if pairs:
        parts += [PAIRED_CAPTION, "", pairs, ""]
    figures.mkdir(parents=True, exist_ok=True)
    order = method_order(records, ORDER)
    plot_fronts(records, order, f"{task}: final test points").savefig(
        figures / f"blocks-{task}-fronts.png"
    )
    curves = {m: mean_curve([hv_curve(r) for r in records if r["method"] == m]) for m in order}
    plot_hv(curves, f"{task}: validation HV against step").savefig(
        figures / f"blocks-{task}-hv.png"
    )
    parts += [f"![{task} fronts](results/blocks-{task}-fronts.png)", ""]
    parts += [f"![{task} HV against step](results/blocks-{task}-hv.png)", ""]
    switches = render_switch_table(records, ORDER)
    return "\n".join(parts + ([switches, ""] if switches else []))


VAL_CAPTION = (
    "Each cell is the run's val/hv at its last validation (the hypervolume of the "
    "non-dominated set of its validation points; val split, 128 problems x 1 sample per "
    "validation), mean over seeds. It keeps a run's best validation points, so a run that "
    "collapsed late still shows its earlier ones. Defaults are chosen on this table, never on "
    "the test points above."
)


def render_document(
    sections: list[str],
    across: str,
    report_cmd: str,
    discussion: str,
    where: str,
    validation: str = "",
) -> str:
    """The whole document; ``where`` is the records directory (repo-relative if inside)."""
    lines = [
        "# Results: accuracy / tool-use fronts",
        "",
        "<!-- Generated by benchmarks/fronts.py report: edit only the Discussion section. -->",
        "",
        f"Built from the records in `{where}/` alone (one JSON per finished run), by "
        "`python benchmarks/fronts.py report`. `python benchmarks/fronts.py run --tasks T "
        "--seeds S` (or `make benchmark`) runs the blocks not yet recorded; a block is "
        "one task × one seed × every method, from one warm start on one machine. Version 1's "
        "benchmark (ALGORITHM.md v1, from `logs/`) is kept in [results-v1.md](results-v1.md).",
        "",
        f"This report: `{report_cmd}` on {describe_machine(machine_info())}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "Each cell is the final test point (after training, on the task's test set), mean ± "
        "sample standard deviation over seeds (the mean alone for one seed). HV (per run) is the "
        "hypervolume of the run's normalised reward vector against the zero reference; HV (union "
        "front) is the hypervolume of the union of the method's seeds' final normalised points. "
        "In the front plots each method's step line is the front of its points in (tool calls, "
        "accuracy) space.",
        "",
        *(sections or ["No records yet: no block has been run and recorded.", ""]),
        *(["## Across tasks", "", across, ""] if across else []),
        *(
            ["## Validation (what the defaults are chosen on)", "", VAL_CAPTION, "", validation, ""]
            if validation
            else []
        ),
        "## Discussion",
        "",
        DISCUSSION_START,
        discussion,
        DISCUSSION_END,
        "",
    ]
    return "\n".join(lines)


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's own arguments (the shared ones are ``fronts.main``'s)."""
    report.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")


def cmd_report(args: argparse.Namespace, argv: list[str]) -> int:
    """Write ``args.out`` and ``<out dir>/results/*.png``; returns 0."""
    records_dir = args.records_dir or default_records_dir(args.max_steps)
    methods = None if args.methods is None else expand_methods(args.methods)
    records = select(load_records(records_dir), args.tasks, methods, args.seeds)
    tasks = by_task(records, list(TASKS))
    try:
        where = records_dir.resolve().relative_to(REPO).as_posix()
    except ValueError:
        where = str(records_dir)
    figures = args.out.parent / "results"
    sections = [task_section(t, rs, figures, where) for t, rs in tasks.items()]
    old = args.out.read_text() if args.out.exists() else None
    report_cmd = shlex.join(["python", "benchmarks/fronts.py", *argv])
    across, validation = render_across(tasks, ORDER), render_validation(tasks, ORDER)
    discussion = kept_discussion(old)
    text = render_document(sections, across, report_cmd, discussion, where, validation)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(
        f"wrote {args.out} ({len(records)} records, {len(tasks)} tasks) and {figures}/", flush=True
    )
    return 0
