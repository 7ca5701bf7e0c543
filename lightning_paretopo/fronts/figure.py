"""The cross-run fronts figure: pure matplotlib on an Agg canvas (no pyplot, no global state).

``plot_fronts(runs, title)`` draws two panels from the runs' final test points:
(a) accuracy against tool calls per episode, the units a user reads: each method's runs (one
colour and marker per method) and its front as a step line, the union front of all runs as a
thick grey line, the warm-start point(s) as black crosses, and an arrow to the better corner
(fewer calls, higher accuracy);
(b) the same points in the normalised objective space the hypervolume is measured in (first
objective up, second across; both in [0, 1], higher better), the union front's dominated
region shaded (its area is the front's HV for two objectives) and the HV reference point (0, 0)
marked. Legends sit outside the axes, so they never cover a point.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lightning_paretopo.fronts.compare import methods_in_order, start_points
from lightning_paretopo.fronts.runs import RunPoints
from lightning_paretopo.plots import front_indices, new_figure, rc_context

MARKERS = "osD^vP*Xh<>"


def _style(m: int) -> dict:
    return {"color": f"C{m % 10}", "marker": MARKERS[m % len(MARKERS)]}


def _front_line(ax: Axes, xs: list[float], ys: list[float], minimise_x: bool, **kw) -> None:
    """The step line through the non-dominated points (x minimised or maximised, y maximised)."""
    key = xs if minimise_x else [-x for x in xs]
    idx = front_indices(key, ys)
    if minimise_x:
        ax.step([xs[i] for i in idx], [ys[i] for i in idx], where="post", **kw)
    else:
        idx = idx[::-1]  # by x ascending: accuracy falls as efficiency rises
        ax.step([xs[i] for i in idx], [ys[i] for i in idx], where="pre", **kw)


INSET = (0.1, 0.1, 0.5, 0.5)  # axes fraction of panel (b)'s zoom on the points


def _zoom(ax: Axes, xs: list[float], ys: list[float], front: list[tuple[float, float]],
          methods: list[int]) -> None:  # fmt: skip
    """An inset on the points of panel (b), when none of them lies under it."""
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    under = [x < 1.02 * (INSET[0] + INSET[2]) and y < 1.02 * (INSET[1] + INSET[3])
             for x, y in zip(xs, ys, strict=True)]  # fmt: skip
    if any(under) or (x_hi - x_lo < 1e-9 and y_hi - y_lo < 1e-9):
        return
    pad_x, pad_y = max(0.1 * (x_hi - x_lo), 0.005), max(0.1 * (y_hi - y_lo), 0.005)
    inset = ax.inset_axes(
        INSET, xlim=(x_lo - pad_x, x_hi + pad_x), ylim=(y_lo - pad_y, y_hi + pad_y)
    )
    inset.step(
        [x for x, _ in front], [y for _, y in front], where="pre", color="0.5", lw=3, alpha=0.6
    )
    for x, y, m in zip(xs, ys, methods, strict=True):
        inset.scatter([x], [y], s=45, edgecolors="k", lw=0.5, zorder=3, **_style(m))
    inset.set_facecolor("white")
    inset.tick_params(labelsize=8)
    inset.xaxis.set_major_locator(MaxNLocator(4))
    inset.yaxis.set_major_locator(MaxNLocator(5))
    inset.grid(alpha=0.3)
    ax.indicate_inset_zoom(inset, edgecolor="0.3")


def _panel_calls(ax: Axes, runs: list[RunPoints], methods: list[str]) -> None:
    calls = [float(r.final["tool_calls"]) for r in runs]
    acc = [float(r.final["accuracy"]) for r in runs]
    _front_line(ax, calls, acc, True, color="0.6", lw=5, alpha=0.5, zorder=1, label="union front")
    for m, method in enumerate(methods):
        mine = [r for r in runs if r.method == method]
        xs, ys = (
            [float(r.final["tool_calls"]) for r in mine],
            [float(r.final["accuracy"]) for r in mine],
        )
        style = _style(m)
        ax.scatter(xs, ys, s=55, edgecolors="k", lw=0.5, zorder=3, label=method, **style)
        _front_line(ax, xs, ys, True, color=style["color"], lw=1.4, zorder=2)
    starts = start_points(runs)
    if starts:
        ax.scatter([s[0] for s in starts], [s[1] for s in starts], marker="X", s=110, color="k",
                   zorder=4, label="warm start")  # fmt: skip
    ax.set(xlabel="tool calls per episode (fewer is better)", ylabel="accuracy (higher is better)",
           title="(a) final test points (better: \u2196 up and left)")  # fmt: skip
    ax.grid(alpha=0.3)


def _panel_objectives(ax: Axes, runs: list[RunPoints], methods: list[str]) -> None:
    names = runs[0].objectives
    pts = [[float(v) for v in r.final["point"][:2]] for r in runs]
    ys, xs = [p[0] for p in pts], [p[1] for p in pts]
    idx = front_indices([-x for x in xs], ys)  # non-dominated: both maximised
    front = sorted((xs[i], ys[i]) for i in idx)
    if (
        front
    ):  # the dominated region, union of the boxes [0, x] x [0, y]: height y_i on (x_i-1, x_i]
        bx = [0.0] + [x for x, _ in front]
        by = [front[0][1]] + [y for _, y in front]
        ax.fill_between(bx, by, step="pre", color="0.6", alpha=0.3, lw=0,
                        label="dominated by the union front (area = HV)")  # fmt: skip
    for m, method in enumerate(methods):
        mine = [p for p, r in zip(pts, runs, strict=True) if r.method == method]
        ax.scatter([p[1] for p in mine], [p[0] for p in mine], s=55, edgecolors="k", lw=0.5,
                   zorder=3, **_style(m))  # fmt: skip
    _zoom(ax, xs, ys, front, [methods.index(r.method) for r in runs])
    starts = {tuple(float(v) for v in r.start["point"][:2]) for r in runs
              if r.start and len(r.start.get("point") or []) >= 2}  # fmt: skip
    if starts:
        ax.scatter([p[1] for p in starts], [p[0] for p in starts], marker="X", s=110, color="k",
                   zorder=4)  # fmt: skip
    ax.scatter([0], [0], marker="s", s=70, color="tab:red", zorder=4, clip_on=False,
               label="HV reference point (0, 0)")  # fmt: skip
    suffix = f" (first 2 of {len(names)})" if len(names) > 2 else ""
    ax.set(xlabel=f"{names[1]} (normalised, higher is better)",
           ylabel=f"{names[0]} (normalised, higher is better)",
           title=f"(b) hypervolume space{suffix} (better: \u2197 up and right)",
           xlim=(0, 1.02), ylim=(0, 1.02))  # fmt: skip
    ax.grid(alpha=0.3)


def plot_fronts(runs: list[RunPoints], title: str | None = None, dpi: int = 100) -> Figure:
    """The two-panel figure of ``runs``' final test points (module docstring)."""
    if not runs:
        raise ValueError("no finished runs to plot")
    methods = methods_in_order(runs)
    with rc_context():
        fig = new_figure((14.0, 5.6), dpi)
        ax_calls, ax_obj = fig.subplots(1, 2, width_ratios=[1.15, 1.0])
        _panel_calls(ax_calls, runs, methods)
        _panel_objectives(ax_obj, runs, methods)
        handles, labels = ax_calls.get_legend_handles_labels()
        more_h, more_l = ax_obj.get_legend_handles_labels()
        fig.legend(handles + more_h, labels + more_l, loc="outside right upper", title="method")
        if title:
            fig.suptitle(title, fontsize=13)
    return fig
