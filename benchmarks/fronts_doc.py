"""``benchmarks/fronts.py report``: the results document and its pictures.

Contract. For each task, the runs of ``<logs>/<experiment>/`` (``fronts_report.collect_runs``)
become a section of ``--out`` (default ``docs/results.md``): the warm-start point, the table
(``fronts_report.render_table``), the switch step and w* of each run that switched
(``fronts_report.render_switch_table``), and PNGs in ``<out dir>/results/``: every method's
final test points (accuracy vs tool calls, each method's union front as a step line; pure
matplotlib on an Agg canvas via ``plots.plot_method_fronts``), val/hv against step (mean over
seeds) and, where a run's weights moved, the first objective's stage-1 weight against step.
The document states the run commands and machines recorded by the runner
(``invocations.jsonl``), the report's own command and machine, and keeps a Discussion section
between two markers: its text survives regeneration; everything else is overwritten.

Deliberately not done: no numbers or claims beyond what the runs' files hold.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks.fronts import ABLATIONS, BASELINES, REPO, TASKS, expand_methods, experiment_name
from benchmarks.fronts_report import (
    FIELDS,
    Run,
    aggregate,
    collect_runs,
    format_mean_std,
    hv_curve,
    invocations,
    machine_info,
    mean_curve,
    mean_std,
    render_switch_table,
    render_table,
    start_points,
    weight_curves,
)
from lightning_paretopo.plots import plot_method_fronts

DISCUSSION_START, DISCUSSION_END = "<!-- discussion:start -->", "<!-- discussion:end -->"
DISCUSSION_PLACEHOLDER = "_To be written by the lead from the tables and pictures above._"
MAKE_RUN = (
    "python benchmarks/fronts.py run --tasks arith kbqa --methods all ablations --seeds 0 1 2 "
    "--jobs 2"
)
MAKE_REPORT = "python benchmarks/fronts.py report --tasks arith kbqa"


def kept_discussion(old_text: str | None) -> str:
    """The text between the discussion markers of a previous document, else the placeholder."""
    if old_text and DISCUSSION_START in old_text and DISCUSSION_END in old_text:
        inner = old_text.split(DISCUSSION_START, 1)[1].split(DISCUSSION_END, 1)[0].strip()
        return inner or DISCUSSION_PLACEHOLDER
    return DISCUSSION_PLACEHOLDER


def plot_fronts(runs: dict[str, list[Run]], order: list[str], title: str) -> Figure:
    """Final (tool calls, accuracy) test points per method, and the warm-start point(s)."""
    points = {
        m: [(r.summary["final"]["tool_calls"], r.summary["final"]["accuracy"]) for r in runs[m]]
        for m in order
    }
    starts = {(s["tool_calls"], s["accuracy"]) for s in start_points(runs)}
    points["warm start"] = sorted(starts)
    fig = plot_method_fronts(points, title=title, figsize=(10.0, 5.5))
    fig.axes[0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="method")
    return fig


def plot_hv(curves: dict[str, list[tuple[int, float, int]]], title: str) -> Figure:
    """val/hv against step, one line per method (the mean over its seeds)."""
    fig = Figure(figsize=(10.0, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for m, (method, curve) in enumerate(curves.items()):
        if curve:
            steps, means = [c[0] for c in curve], [c[1] for c in curve]
            style = {
                "marker": "osD^vP*Xh<>"[m % 11],
                "color": f"C{m % 10}",
                "ls": "-:"[m // 10 % 2],
            }
            ax.plot(steps, means, label=method, **style)
    ax.set(xlabel="step", ylabel="val/hv (mean over seeds)", title=title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="method")
    return fig


def plot_weights(runs: dict[str, list[Run]], order: list[str], title: str) -> Figure | None:
    """The first objective's stage-1 weight against step, one line per run whose weights
    moved (color: method, line style: seed). A curve identical to one already drawn (an
    ablation that changes only stage 2 shares its stage 1 with paretopo) is not drawn again.
    None when no run's weights moved."""
    fig = Figure(figsize=(10.0, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    objective, drawn, colors = None, set(), {}
    for method in order:
        for run in sorted(runs.get(method, []), key=lambda r: r.seed):
            curves = weight_curves(run)
            objective = objective or next(iter(curves), None)
            curve = tuple(curves.get(objective, []))
            if len({v for _, v in curve}) < 2 or curve in drawn:
                continue
            drawn.add(curve)
            color = colors.setdefault(method, f"C{len(colors) % 10}")
            style = {"color": color, "ls": ["-", "--", ":", "-."][run.seed % 4]}
            steps, values = [c[0] for c in curve], [c[1] for c in curve]
            ax.plot(steps, values, label=f"{method} s{run.seed}", **style)
    if not drawn:
        return None
    ax.set(xlabel="step", ylabel=f"weight of {objective}", title=title, ylim=(0.0, 1.0))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), title="run")
    return fig


def warm_start_line(runs: dict[str, list[Run]]) -> str:
    """The warm-start point: one value when every run recorded the same, else mean ± std over
    seeds, saying whether the runs of each seed agree (they should: same policy, same test
    rollouts; seeds differ because each seed samples the test rollouts differently)."""
    by_seed: dict[int, list[dict[str, Any]]] = {}
    for r in (r for rs in runs.values() for r in rs if r.summary.get("start")):
        by_seed.setdefault(r.seed, []).append(r.summary["start"])
    if not by_seed:
        return "Warm-start point: no run recorded one."

    def agree(points: list[dict[str, Any]]) -> bool:
        return all(all(p[f] == points[0][f] for f in FIELDS) for p in points)

    total = sum(len(p) for p in by_seed.values())
    per_seed = [points[0] for points in by_seed.values()]
    n = 1 if agree(per_seed) else len(per_seed)
    cells = [f"{f} {format_mean_std(*mean_std([p[f] for p in per_seed]), n)}" for f in FIELDS]
    within = all(agree(points) for points in by_seed.values())
    how = "the same in every run of a seed" if within else "NOT the same across runs of a seed"
    over = "" if n == 1 else f"; mean ± std over {n} seeds"
    return f"Warm-start point (test set, before RL; {total} run(s), {how}{over}): " + (
        ", ".join(cells) + "."
    )


def _machine(m: dict[str, Any]) -> str:
    cpu = f"{m['cpu']} ({m['cpu_count']} CPUs)"
    return f"{m['platform']}, Python {m['python']}, {cpu}, torch {m['torch']}"


def task_section(task: str, experiment_dir: Path, runs: dict[str, list[Run]], figures: Path) -> str:
    """One task's markdown section; writes its PNGs into ``figures`` (linked as
    ``results/<png>``, i.e. ``figures`` is ``results/`` beside the document)."""
    name = experiment_dir.name
    head = f"## {task} (`{TASKS[task]}`, runs in `logs/{name}/`)\n"
    if not runs:
        return head + f"\nNo finished runs (no `logs/{name}/*/summary.json`).\n"
    order = [r.method for r in aggregate(runs, BASELINES + ABLATIONS)]
    figures.mkdir(parents=True, exist_ok=True)
    fronts = plot_fronts(runs, order, f"{task}: final test points (union front per method)")
    fronts.savefig(figures / f"{name}-fronts.png")
    curves = {m: mean_curve([hv_curve(r) for r in runs[m]]) for m in order}
    plot_hv(curves, f"{task}: validation HV against step").savefig(figures / f"{name}-hv.png")
    parts = [head, warm_start_line(runs), "", render_table(aggregate(runs, order)), ""]
    parts += [f"![{task} fronts](results/{name}-fronts.png)", ""]
    parts += [f"![{task} HV against step](results/{name}-hv.png)", ""]
    switches = render_switch_table(runs, order)
    if switches:
        parts += [switches, ""]
    weights = plot_weights(runs, order, f"{task}: stage-1 weights against step")
    if weights is not None:
        weights.savefig(figures / f"{name}-weights.png")
        parts += [f"![{task} stage-1 weights against step](results/{name}-weights.png)", ""]
    return "\n".join(parts)


def render_document(
    sections: list[str], runs_made_by: list[dict], report_cmd: str, discussion: str
) -> str:
    """The whole document; ``runs_made_by`` are the runner's invocations over all tasks."""
    commands = sorted({i["command"] for i in runs_made_by})
    machines = sorted({_machine(i["machine"]) for i in runs_made_by})
    lines = [
        "# Results: accuracy / tool-use fronts",
        "",
        "<!-- Generated by benchmarks/fronts.py report: edit only the Discussion section. -->",
        "",
        f"`make benchmark` runs `{MAKE_RUN}`, then `{MAKE_REPORT}` (with its ARGS on both).",
        "",
        "Run commands, as recorded by the runner:",
        *([f"- `{c}`" for c in commands] or ["- (none recorded)"]),
        "",
        "Machine(s) of the runs:",
        *([f"- {m}" for m in machines] or ["- (none recorded)"]),
        "",
        f"This report: `{report_cmd}` on {_machine(machine_info())}, {time.strftime('%Y-%m-%d')}.",
        "",
        "Each cell is the final test point (after training, on the task's test set), mean ± "
        "sample standard deviation over seeds (the mean alone for one seed). HV (per run) is the "
        "hypervolume of the run's normalised reward vector against the zero reference; HV (union "
        "front) is the hypervolume of the union of the method's seeds' final normalised points "
        "(reference 0). In the front plots each method's step line is the front of its points in "
        "(tool calls, accuracy) space.",
        "",
        *sections,
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
    report.add_argument("--logs", type=Path, default=REPO / "logs", help="the logs root")
    report.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")


def select_runs(runs: dict[str, list[Run]], methods: list[str] | None, seeds: list[int] | None):
    """``runs`` restricted to ``methods`` (names, all, ablations) and ``seeds``; None: all."""
    keep = None if methods is None else set(expand_methods(methods))
    out = {
        m: [r for r in rs if seeds is None or r.seed in seeds]
        for m, rs in runs.items()
        if keep is None or m in keep
    }
    return {m: rs for m, rs in out.items() if rs}


def cmd_report(args: argparse.Namespace, argv: list[str]) -> int:
    """Write ``args.out`` and ``<out dir>/results/*.png``; returns 0."""
    figures = args.out.parent / "results"
    sections, made_by = [], []
    for task in args.tasks:
        experiment_dir = args.logs / experiment_name(task, args.max_steps)
        runs = select_runs(collect_runs(experiment_dir), args.methods, args.seeds)
        sections.append(task_section(task, experiment_dir, runs, figures))
        made_by += invocations(experiment_dir)
    old = args.out.read_text() if args.out.exists() else None
    report_cmd = shlex.join(["python", "benchmarks/fronts.py", *argv])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_document(sections, made_by, report_cmd, kept_discussion(old)))
    print(f"wrote {args.out} and {figures}/", flush=True)
    return 0
