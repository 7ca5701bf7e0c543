"""Pictures of accuracy vs. tool-use fronts: pure matplotlib, Agg canvas, no Lightning.

Contract. Every function takes plain Python data and returns a new ``matplotlib.figure.Figure``
attached to an Agg canvas (no pyplot, no global state, safe in a headless trainer); the caller
saves it (``fig.savefig(path)``; the pixel size is ``figsize * dpi``, no tight bounding box).

- ``plot_run_fronts(history, ...)``: one run, three panels: (a) its validation points in
  (tool calls, accuracy) space coloured by step, the non-dominated ones joined as a front
  (fewer calls and higher accuracy are better) and the latest point starred; (b) HV against
  step: ``val/hv`` and, when given, the training archive HV; (c) the weights each step trained
  with, per objective, against step. The switch step, when given, is a dashed line with stage 2 shaded.
- ``new_figure`` and ``rc_context``: the shared canvas and fonts (also used by ``fronts.figure``).

Many runs side by side: ``lightning_paretopo.fronts.plot_fronts``.

Not done here: computing HV (``pareto``), choosing the run directory or logging (``callbacks``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_VAL_KEYS = ("step", "accuracy", "tool_calls", "hv")
_FONT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9}


def front_indices(tool_calls: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the non-dominated points (minimise calls, maximise accuracy), by calls.

    Equal points are all kept. Sorted by tool calls, then accuracy, so the list traces the
    front from the cheapest point to the most accurate.
    """
    if len(tool_calls) != len(accuracy):
        raise ValueError(
            f"tool_calls and accuracy must have the same length; got {len(tool_calls)} "
            f"and {len(accuracy)}"
        )
    pts = list(zip(tool_calls, accuracy, strict=True))
    keep = [
        i
        for i, (c, a) in enumerate(pts)
        if not any(c2 <= c and a2 >= a and (c2 < c or a2 > a) for c2, a2 in pts)
    ]
    return sorted(keep, key=lambda i: (pts[i][0], pts[i][1]))


def rc_context() -> Any:
    return matplotlib.rc_context(_FONT)


def new_figure(figsize: tuple[float, float], dpi: int) -> Figure:
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _draw_front(ax: Axes, calls: list[float], acc: list[float], **kwargs: Any) -> None:
    idx = front_indices(calls, acc)
    ax.step([calls[i] for i in idx], [acc[i] for i in idx], where="post", **kwargs)


def _mark_switch(ax: Axes, switch_step: int | None, last_step: float) -> None:
    if switch_step is None:
        return
    ax.axvline(switch_step, color="0.3", ls="--", lw=1.2, label=f"switch (step {switch_step})")
    ax.axvspan(
        switch_step, max(last_step, switch_step), color="0.5", alpha=0.1, lw=0, label="stage 2"
    )


def _panel_points(ax: Axes, history: Sequence[Mapping[str, Any]]) -> None:
    ax.set_title("(a) validation points (better: \u2196 up and left)")
    ax.set_xlabel("tool calls per episode (fewer is better)")
    ax.set_ylabel("accuracy (higher is better)")
    ax.grid(alpha=0.3)
    if not history:
        ax.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=ax.transAxes)
        return
    calls = [float(h["tool_calls"]) for h in history]
    acc = [float(h["accuracy"]) for h in history]
    steps = [int(h["step"]) for h in history]
    _draw_front(ax, calls, acc, color="tab:red", lw=1.8, alpha=0.8, label="non-dominated front")
    sc = ax.scatter(calls, acc, c=steps, cmap="viridis", s=36, edgecolors="k", lw=0.4, zorder=3)
    cbar = ax.figure.colorbar(sc, ax=ax, label="step", pad=0.01)
    cbar.locator = MaxNLocator(integer=True)
    cbar.update_ticks()
    ax.scatter(
        calls[-1:], acc[-1:], marker="*", s=260, facecolors="none", edgecolors="tab:red",
        lw=1.6, zorder=4, label=f"latest (step {steps[-1]})",
    )  # fmt: skip
    _legend_below(ax)


def _legend_below(ax: Axes, ncol: int = 2) -> None:
    """The panel's legend under its axes, so it never covers a point or a line."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False)


def _panel_hv(
    ax: Axes,
    history: Sequence[Mapping[str, Any]],
    train_history: Sequence[Mapping[str, Any]],
    switch_step: int | None,
) -> None:
    ax.set_title("(b) hypervolume")
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("HV (normalised objectives; higher is better)")
    ax.grid(alpha=0.3)
    last = 0.0
    # step 0 is the empty archive's HV (0): drawing it would squash the curve against the axis
    train_history = [h for h in train_history if int(h["step"]) > 0]
    if train_history:
        steps = [int(h["step"]) for h in train_history]
        ax.plot(steps, [float(h["hv"]) for h in train_history], color="tab:blue", lw=1.5,
                label="train/hv (archive)")  # fmt: skip
        last = max(last, steps[-1])
    if history:
        steps = [int(h["step"]) for h in history]
        ax.plot(steps, [float(h["hv"]) for h in history], "o-", color="tab:orange", ms=5,
                lw=1.5, label="val/hv")  # fmt: skip
        last = max(last, steps[-1])
    _mark_switch(ax, switch_step, last)
    _legend_below(ax)


def _panel_weights(
    ax: Axes,
    history: Sequence[Mapping[str, Any]],
    train_history: Sequence[Mapping[str, Any]],
    switch_step: int | None,
    objective_names: Sequence[str] | None,
) -> None:
    source = [h for h in train_history if h.get("weights") is not None]
    if not source:
        source = [h for h in history if h.get("weights") is not None]
    ax.set_title("(c) scalarisation weights")
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("weight")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    if source:
        steps = [int(h["step"]) for h in source]
        K = len(source[0]["weights"])
        names = list(objective_names) if objective_names else [f"objective {k}" for k in range(K)]
        if len(names) != K:
            raise ValueError(f"objective_names has {len(names)} names; the weights have {K}")
        for k, name in enumerate(names):
            ax.plot(steps, [float(h["weights"][k]) for h in source], lw=1.8, label=f"w[{name}]")
        _mark_switch(ax, switch_step, steps[-1])
    _legend_below(ax)


def plot_run_fronts(
    history: Sequence[Mapping[str, Any]],
    train_history: Sequence[Mapping[str, Any]] | None = None,
    switch_step: int | None = None,
    objective_names: Sequence[str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (16.0, 5.4),
    dpi: int = 100,
) -> Figure:
    """One run's fronts, HV and weights in three panels (module docstring).

    Args:
        history: validation records in step order, each with ``step``, ``accuracy``,
            ``tool_calls``, ``hv`` and optionally ``weights`` (a K-list).
        train_history: training records in step order, each with ``step``, ``hv`` and
            optionally ``weights``; panel (c) prefers them to the validation weights.
        switch_step: the stage switch step to mark, or None.
        objective_names: K names for the weight legend (default "objective k").
        title: the figure title.
        figsize: inches; with ``dpi`` it fixes the saved pixel size.
        dpi: dots per inch.
    """
    train_history = list(train_history or [])
    for i, h in enumerate(history):
        missing = [key for key in _VAL_KEYS if key not in h]
        if missing:
            raise ValueError(f"history[{i}] lacks {missing}; each record needs {_VAL_KEYS}")
    with rc_context():
        fig = new_figure(figsize, dpi)
        ax_pts, ax_hv, ax_w = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1, 1]})
        _panel_points(ax_pts, history)
        _panel_hv(ax_hv, history, train_history, switch_step)
        _panel_weights(ax_w, history, train_history, switch_step, objective_names)
        if title:
            fig.suptitle(title, fontsize=13)
    return fig
