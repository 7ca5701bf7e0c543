"""The cross-run fronts as one self-contained HTML page (no scripts, no external files).

``render_page(runs, rows, svg, title)``: the figure inline as SVG, the per-method table (HV mean
± std over seeds and the HV of each method's front) and one row per run (its start and final
points and where it lives), sortable by eye, printable, openable from a file.
"""

from __future__ import annotations

import html

from lightning_paretopo.fronts.compare import STATS, MethodRow, format_stat
from lightning_paretopo.fronts.runs import RunPoints

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1400px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child, td.t, th.t { text-align: left; }
tr.best td { font-weight: 600; background: #eef7ee; }
.note { color: #555; max-width: 900px; }
svg { max-width: 100%; height: auto; }
"""


def _cell(value: object, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape("-" if value is None else str(value))


def _method_table(rows: list[MethodRow]) -> str:
    best = max((r.stats["hypervolume"][0] for r in rows), default=None)
    head = ["method", "runs", "seeds", "accuracy", "tool calls", "HV (mean ± std)",
            "HV of the method's front"]  # fmt: skip
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for row in rows:
        seeds = ",".join("-" if s is None else str(s) for s in row.seeds)
        stats = [html.escape(format_stat(row.stats[f])) for f in STATS]
        cls = ' class="best"' if row.stats["hypervolume"][0] == best else ""
        cells = [html.escape(row.method), str(len(row.seeds)), seeds, *stats, f"{row.front_hv:.3f}"]
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join([*out, "</table>"])


def _run_table(runs: list[RunPoints]) -> str:
    head = ["run", "method", "seed", "start accuracy", "start calls", "start HV",
            "final accuracy", "final calls", "final HV", "test rollouts"]  # fmt: skip
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in runs:
        start = r.start or {}
        cells = [r.name, r.method, r.seed, start.get("accuracy"), start.get("tool_calls"),
                 start.get("hypervolume"), r.final.get("accuracy"), r.final.get("tool_calls"),
                 r.final.get("hypervolume"), r.final.get("n")]  # fmt: skip
        tds = [f'<td class="t">{_cell(c)}</td>' if i < 2 else f"<td>{_cell(c)}</td>"
               for i, c in enumerate(cells)]  # fmt: skip
        out.append("<tr>" + "".join(tds) + "</tr>")
    return "\n".join([*out, "</table>"])


def render_page(
    runs: list[RunPoints],
    rows: list[MethodRow],
    svg: str,
    title: str,
    unfinished: list[str] | None = None,
) -> str:
    """The whole page as a string; ``unfinished``: run folders left out (no ``summary.json``)."""
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: inline SVG
    note = (
        "Final test points of every finished run (<code>summary.json</code>). HV is the "
        "hypervolume of a run's normalised objective vector against the reference point 0 "
        "(every objective in [0, 1], higher is better); the front of a method is the union of "
        "its runs' points. The best mean HV is highlighted."
    )
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>", f'<p class="note">{note}</p>', svg,
        "<h2>Per method</h2>", _method_table(rows),
        "<h2>Per run</h2>", _run_table(runs), *_unfinished(unfinished or []), "</body></html>",
    ])  # fmt: skip


def _unfinished(paths: list[str]) -> list[str]:
    if not paths:
        return []
    items = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in paths)
    return [f'<p class="note">Not finished (no summary.json), left out:</p><ul>{items}</ul>']
