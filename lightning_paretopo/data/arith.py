"""Synthetic integer arithmetic tasks ("arith") for a tiny calculator-using policy.

Contract: ``generate_arith(n, seed, ...)`` returns ``n`` ``TaskExample``s (kind ``"arith"``,
tools ``("calculator",)``), the same list for the same arguments on every machine. Tiers are
sized for a ~2M-parameter character-level model trained from scratch:

    tier    templates (operands drawn uniformly)                       intended solution
    easy    a+b, a-b (a >= b), a, b in 0..9;  a*b, a, b in 1..5       mentally (memorisable)
    medium  a+b, a-b (a >= b), a, b in 10..99;  a*b, a, b in 2..9     borderline: either
    hard    a*b, a, b in 11..99;  (a*b)+c, a*b-c, c in 10..99;        calculator
            (a+b)*c, a, b in 10..99, c in 11..99

A task's ``meta``: ``tier``; ``expression`` (calculator-ready, no spaces, e.g. ``"(23*17)+45"``);
``steps``, the binary operations in evaluation order, each ``{"expr", "value"}`` with earlier
results substituted as literals (``[{"expr": "23*17", "value": 391}, {"expr": "391+45",
"value": 436}]``), so a trace builder can write one call (the expression) or one per step;
``split``. Prompts read ``"What is <expression>?"``; answers are integer strings.

Splits: with ``split`` set, only expressions whose hash (``splits.split_of``) falls in that split
are kept, so no expression appears in two splits. Examples are i.i.d. draws, so an expression
can repeat inside a split (the easy tier has only 180 distinct expressions).

Deliberately not done: division, negative operands, more than two operations.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from lightning_paretopo.data.splits import (
    DEFAULT_SPLIT_FRACTIONS,
    check_fractions,
    check_split,
    split_of,
)
from lightning_paretopo.types import TaskExample

TIERS = ("easy", "medium", "hard")
_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


def _step(a: int, op: str, b: int) -> dict:
    return {"expr": f"{a}{op}{b}", "value": _OPS[op](a, b)}


def _one_op(rng: random.Random, op: str, lo: int, hi: int) -> tuple[str, list[dict]]:
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    if op == "-" and a < b:
        a, b = b, a
    step = _step(a, op, b)
    return step["expr"], [step]


def _easy(rng: random.Random) -> tuple[str, list[dict]]:
    op = rng.choice("+-*")
    return _one_op(rng, op, 1, 5) if op == "*" else _one_op(rng, op, 0, 9)


def _medium(rng: random.Random) -> tuple[str, list[dict]]:
    op = rng.choice("+-*")
    return _one_op(rng, op, 2, 9) if op == "*" else _one_op(rng, op, 10, 99)


def _hard(rng: random.Random) -> tuple[str, list[dict]]:
    form = rng.choice(("product", "product_plus", "product_minus", "sum_times"))
    if form == "product":
        return _one_op(rng, "*", 11, 99)
    if form == "sum_times":
        first = _step(rng.randint(10, 99), "+", rng.randint(10, 99))
        c = rng.randint(11, 99)
        expr = f"({first['expr']})*{c}"
        return expr, [first, _step(first["value"], "*", c)]
    first = _step(rng.randint(11, 99), "*", rng.randint(11, 99))
    c = rng.randint(10, 99)
    op = "+" if form == "product_plus" else "-"
    expr = f"({first['expr']})+{c}" if op == "+" else f"{first['expr']}-{c}"
    return expr, [first, _step(first["value"], op, c)]


_TIER_SAMPLERS = {"easy": _easy, "medium": _medium, "hard": _hard}


def _check_tiers(tiers: Sequence[str], tier_weights: Sequence[float] | None) -> list[float]:
    if not tiers or any(t not in TIERS for t in tiers):
        raise ValueError(f"tiers must be a non-empty subset of {TIERS}, got {tuple(tiers)!r}")
    if tier_weights is None:
        return [1.0] * len(tiers)
    weights = list(tier_weights)
    if len(weights) != len(tiers) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(
            f"tier_weights must be {len(tiers)} non-negative numbers with a positive sum "
            f"(one per tier in {tuple(tiers)!r}), got {tier_weights!r}"
        )
    return weights


def generate_arith(
    n: int,
    seed: int = 0,
    tiers: Sequence[str] = TIERS,
    tier_weights: Sequence[float] | None = None,
    split: str | None = None,
    split_fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS,
) -> list[TaskExample]:
    """Generate ``n`` arithmetic tasks.

    Args:
        n: number of tasks (>= 0).
        seed: RNG seed; the same arguments always give the same list.
        tiers: which tiers to draw from (subset of ``TIERS``).
        tier_weights: relative sampling weight per tier (default: uniform).
        split: keep only expressions hashed into this split; None keeps all.
        split_fractions: (train, val, test) fractions of the expression hash space.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    check_split(split)
    check_fractions(split_fractions)
    weights = _check_tiers(tiers, tier_weights)
    rng = random.Random(f"arith:{seed}:{split}")
    tasks: list[TaskExample] = []
    max_draws = 1000 * max(n, 1)
    for _ in range(max_draws):
        if len(tasks) == n:
            break
        tier = rng.choices(list(tiers), weights=weights)[0]
        expr, steps = _TIER_SAMPLERS[tier](rng)
        expr_split = split_of(expr, split_fractions)
        if split is not None and expr_split != split:
            continue
        tasks.append(
            TaskExample(
                id=f"arith-{split or 'all'}-{seed}-{len(tasks):06d}",
                kind="arith",
                prompt=f"What is {expr}?",
                answer=str(steps[-1]["value"]),
                tools=("calculator",),
                meta={"tier": tier, "expression": expr, "steps": steps, "split": expr_split},
            )
        )
    if len(tasks) < n:
        raise ValueError(
            f"could only draw {len(tasks)} of n={n} tasks for split={split!r}; "
            f"raise that split's share in split_fractions={split_fractions!r}"
        )
    return tasks
