"""The tier model of ``benchmarks/simulate.py``: a task as tiers, a policy as call-or-stop logits.

Contract.

- A task is a list of ``Tier``s, each with the warm start's table row: n (its share of the
  prompts), acc_tool, acc_no_tool, frac_tool, mean_calls. ``read_tier_table`` parses the first
  table of a ``warmstart_eval.md`` (``warmstart/evaluate.py`` writes it; its first section is the
  sampled one, at the RL temperature), skipping the "all" row; "-" (no sample) is NaN.
  ``TABLES`` holds the arith and kbqa tier tables of docs/quickstart.md as built-in defaults.
- A trajectory of tier t is up to ``MAX_TURNS`` = 4 turns (the configs' ``max_turns``). At turn
  j the policy calls the tool with probability sigmoid(theta[t, j]) or answers. m = the calls
  made. m = 4 means every turn called: no answer, so wrong (the engine's budget cut).
- Accuracy given m: acc_no_tool for m = 0 and ``acc_tool / P(m <= 3 | m >= 1)`` (capped at 1) for
  1 <= m <= 3, so that the start policy reproduces the table's acc_tool exactly when no
  probability is cut. The tables cannot tell a first call from a second, so a second or third
  call buys nothing here; that matches the per-tier runs of docs/quickstart.md, where RL cut hard problems to
  one call without losing accuracy. A missing acc_no_tool (every sample called) or acc_tool
  (none did) takes the other column: no evidence that calls matter.
- Start logits: theta[t, 0] = logit(frac_tool); theta[t, 1..3] = logit(q) with q solving
  1 + q + q^2 + q^3 = mean_calls / frac_tool, the mean calls of the samples that called.
- ``expected_point`` is exact: E[acc] and E[eff], eff = 1 - min(m, 4) / 4, summed over tiers
  (weighted by n) and call counts; the HV against the zero reference is their product.

Deliberately not modelled: prompts of one tier that differ in difficulty (all rollouts of a tier
are i.i.d.), tokens (a turn is one decision), and anything the tables do not measure.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

MAX_TURNS = 4
BUDGET = 4  # ToolEfficiency budget M of the configs (tradeoff_b8: 8, TierModel.budget)


@dataclass(frozen=True)
class Tier:
    """One row of a warm start's tier table."""

    name: str
    n: float
    acc_tool: float
    acc_no_tool: float
    frac_tool: float
    mean_calls: float


TABLES: dict[str, list[Tier]] = {
    # docs/quickstart.md, "The tiny policy's warm start (arith)": 500 problems x 4 samples at T=1.
    "arith": [
        Tier("hard", 620, 0.859, 0.000, 0.971, 1.398),
        Tier("medium", 724, 0.960, 0.557, 0.695, 0.710),
        Tier("easy", 656, 0.957, 0.963, 0.212, 0.213),
    ],
    # docs/quickstart.md, "The tiny policy's warm start (kbqa)": 61 questions x 8 samples at T=1.
    "kbqa": [
        Tier("known", 104, 0.429, 0.783, 0.337, 0.433),
        Tier("unknown", 280, 0.687, 0.029, 0.879, 1.275),
        Tier("mixed", 104, 0.521, 0.000, 0.904, 1.423),
    ],
}
# configs/tasks/tradeoff.yaml draws the easy and medium tiers alone, equally often: the same
# warm-started policy, so arith's two rows (the share of each is set by the equal weights).
TABLES["tradeoff"] = [
    Tier("medium", 1, 0.960, 0.557, 0.695, 0.710),
    Tier("easy", 1, 0.957, 0.963, 0.212, 0.213),
]


def _cell(text: str) -> float:
    text = text.strip()
    return math.nan if text in ("-", "") else float(text)


def read_tier_table(path: str | Path) -> list[Tier]:
    """The tiers of the first markdown table in ``path`` (a ``warmstart_eval.md``)."""
    tiers: list[Tier] = []
    header: list[str] | None = None
    for line in Path(path).read_text().splitlines():
        if not line.startswith("|"):
            if tiers:
                break  # the first table ended
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if re.fullmatch(r"-+", cells[0]) or cells[0] == "all":
            continue
        row = dict(zip(header, cells, strict=True))
        values = {k: _cell(row[k]) for k in ("n", "acc_tool", "acc_no_tool")}
        values |= {k: _cell(row[k]) for k in ("frac_tool", "mean_calls")}
        tiers.append(Tier(row["tier"], **values))
    if not tiers:
        raise ValueError(f"{path}: no tier table (| tier | n | acc_tool | ... |) found")
    return tiers


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def continuation_prob(calls_given_call: float) -> float:
    """q in [0, 1) with 1 + q + q^2 + q^3 = calls_given_call (bisection; clamped to [1, 4))."""
    target = min(max(calls_given_call, 1.0), 3.99)
    lo, hi = 0.0, 1.0
    for _ in range(60):
        q = (lo + hi) / 2
        lo, hi = (q, hi) if 1 + q + q * q + q**3 < target else (lo, q)
    return (lo + hi) / 2


@dataclass
class TierModel:
    """A task as tensors: shares [T], accuracy by calls [T, MAX_TURNS + 1], start logits."""

    names: list[str]
    share: Tensor  # [T] prompt share of each tier, sums to 1
    acc: Tensor  # [T, 5] P(correct | tier, m calls), m = 0..4
    theta0: Tensor  # [T, 4] start logits of "call" at turns 0..3
    budget: int = BUDGET  # ToolEfficiency budget M: eff = 1 - min(m, M) / M

    @classmethod
    def from_tiers(cls, tiers: list[Tier], budget: int = BUDGET) -> TierModel:
        share, acc, theta = [], [], []
        for t in tiers:
            a_tool = t.acc_no_tool if math.isnan(t.acc_tool) else t.acc_tool
            a_none = a_tool if math.isnan(t.acc_no_tool) else t.acc_no_tool
            frac = 0.0 if math.isnan(t.frac_tool) else t.frac_tool
            q = continuation_prob(t.mean_calls / frac) if frac > 0 else 0.0
            a_called = min(1.0, a_tool / (1 - q**3))
            share.append(t.n)
            acc.append([a_none, a_called, a_called, a_called, 0.0])
            theta.append([_logit(frac)] + [_logit(q)] * (MAX_TURNS - 1))
        share_t = torch.tensor(share, dtype=torch.float64)
        return cls(
            [t.name for t in tiers],
            share_t / share_t.sum(),
            torch.tensor(acc, dtype=torch.float64),
            torch.tensor(theta, dtype=torch.float64),
            budget,
        )


def call_distribution(theta: Tensor) -> Tensor:
    """[T, 5] P(m calls | tier) for m = 0..4 under logits theta [T, 4]."""
    p = torch.sigmoid(theta)  # [T, 4]
    reach = torch.cumprod(torch.cat([torch.ones_like(p[:, :1]), p], dim=1), dim=1)  # [T, 5]
    stop = torch.cat([1 - p, torch.ones_like(p[:, :1])], dim=1)  # [T, 5]
    return reach * stop


def expected_point(model: TierModel, theta: Tensor) -> tuple[float, float, float]:
    """Exact (E[acc], E[calls], E[eff]) of the policy theta on the task's tier mix."""
    P = call_distribution(theta)  # [T, 5]
    m = torch.arange(MAX_TURNS + 1, dtype=torch.float64)  # [5]
    eff = 1 - m.clamp(max=model.budget) / model.budget  # [5]
    acc = float((model.share[:, None] * P * model.acc).sum())
    calls = float((model.share[:, None] * P * m).sum())
    return acc, calls, float((model.share[:, None] * P * eff).sum())


def exact_hv(model: TierModel, theta: Tensor) -> float:
    """HV of the policy's expected point against the zero reference: E[acc] * E[eff]."""
    acc, _, eff = expected_point(model, theta)
    return acc * eff
