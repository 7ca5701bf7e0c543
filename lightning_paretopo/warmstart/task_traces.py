"""Per-task assembly of warm-start data: problems, real tools, markup, sampled traces.

Contract: ``build_task_traces(task, ...)`` returns a ``TaskTraces`` with the train / val / test
traces (val and test problems come from their own splits, so no expression or question is shared
with training), the ``n_eval`` held-out test problems for the rollout evaluation, the real tools
by name and the markup. The same arguments always give the same traces.

Default behaviour mix (``DEFAULT_BEHAVIOUR_PROBS``), chosen so the warm-started policy explores
every behaviour while its tool use already tracks difficulty:
    arith  easy: mostly direct (the tiny model can learn one-digit sums), medium: half and half,
           hard: mostly calculator calls (one call or one per step) but some direct answers.
    kbqa   every hop well known: mostly direct (recited); none: mostly searched; mixed: mostly
           one search per unknown hop, some searching every hop, some direct answers.
Kbqa has few questions (600 train with the default world), so ``n_train`` cycles through them,
each pass in a new order with new behaviour draws (or draws them weighted by tier); the well-known fact sentences are added
``fact_repeats`` times as plain text. Its eval tasks are the whole test split (61 questions by
default; ``n_eval`` caps it): sample each several times (``EvalArgs.samples_per_task``).

Deliberately not done: no curriculum (the mix is the same over the whole run).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_paretopo.data.arith import TIERS as ARITH_TIERS
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.kbqa import build_world, generate_kbqa
from lightning_paretopo.rollout.markup import TaggedProtocol
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.tools.registry import ToolSpecs
from lightning_paretopo.tools.search import BM25Search
from lightning_paretopo.types import TaskExample
from lightning_paretopo.warmstart.traces import (
    Trace,
    arith_facts,
    arith_trace,
    fact_traces,
    kbqa_trace,
    sample_behaviours,
)

DEFAULT_BEHAVIOUR_PROBS: dict[str, dict[str, dict[str, float]]] = {
    "arith": {
        "easy": {"direct": 0.85, "single_call": 0.15},
        "medium": {"direct": 0.5, "single_call": 0.5},
        "hard": {"direct": 0.15, "single_call": 0.5, "per_step": 0.35},
    },
    "kbqa": {
        "known": {"direct": 0.9, "search_all": 0.1},
        "unknown": {"direct": 0.05, "search": 0.95},
        "mixed": {"direct": 0.05, "search": 0.85, "search_all": 0.1},
    },
}

#: per task: (passes over its facts, facts per text trace).
DEFAULT_FACTS: dict[str, tuple[int, int]] = {"arith": (100, 10), "kbqa": (30, 4)}


@dataclass
class TaskTraces:
    """Everything the warm start needs for one task family."""

    train: list[Trace]
    val: list[Trace]
    test: list[Trace]
    eval_tasks: list[TaskExample]
    tool_specs: ToolSpecs  # the real tools the traces called, as the rollouts build them
    protocol: Any  # the markup: TaggedProtocol, or a chat model's ChatTemplateProtocol

    def summary(self) -> str:
        counts = Counter((t.tier, t.behaviour) for t in self.train)
        return ", ".join(f"{tier or 'text'}/{b}: {n}" for (tier, b), n in sorted(counts.items()))


def build_task_traces(
    task: str,
    n_train: int,
    n_val: int,
    n_eval: int,
    seed: int,
    behaviour_probs: dict[str, dict[str, float]] | None = None,
    fact_passes: int | None = None,
    facts_per_trace: int | None = None,
    tier_weights: dict[str, float] | None = None,
    protocol: Any | None = None,
    **kbqa_kwargs: Any,
) -> TaskTraces:
    """Build the warm-start data of ``task`` ("arith" or "kbqa"); see the module docstring.

    Args:
        fact_passes: passes over the task's facts (arith: ``arith_facts``; kbqa: the world's
            well-known sentences) added to the training traces; None: ``DEFAULT_FACTS[task]``.
        facts_per_trace: facts packed into one text trace; None: ``DEFAULT_FACTS[task]``.
        tier_weights: relative frequency of each tier among the training problems (missing
            tiers: 1); None keeps the generator's own mix.
        protocol: arith only: the markup the traces are rendered with (e.g. a chat model's
            ``ChatTemplateProtocol``, as its rollouts render them); None: ``TaggedProtocol``.
        **kbqa_kwargs: ``world_seed``, ``search_k`` (passages per search), ``corpus_dir``
            (where the world's corpus is written).
    """
    if task not in DEFAULT_BEHAVIOUR_PROBS:
        raise ValueError(f"task must be one of {sorted(DEFAULT_BEHAVIOUR_PROBS)}, got {task!r}")
    probs = behaviour_probs or DEFAULT_BEHAVIOUR_PROBS[task]
    passes = DEFAULT_FACTS[task][0] if fact_passes is None else fact_passes
    per_trace = DEFAULT_FACTS[task][1] if facts_per_trace is None else facts_per_trace
    if tier_weights is not None and any(w < 0 for w in tier_weights.values()):
        raise ValueError(f"tier_weights must be non-negative, got {tier_weights}")
    if task == "arith":
        data = _arith(n_train, n_val, n_eval, seed, probs, tier_weights, protocol)
        data.train += fact_traces(arith_facts(), passes, per_trace, seed, results_only=True)
        return data
    if protocol is not None:
        raise ValueError("protocol: kbqa traces are rendered with TaggedProtocol only")
    if set(kbqa_kwargs) - {"world_seed", "search_k", "corpus_dir"}:
        raise ValueError(f"unknown kbqa arguments {sorted(kbqa_kwargs)}")
    return _kbqa(
        n_train, n_val, n_eval, seed, probs, passes, per_trace, tier_weights, **kbqa_kwargs
    )


def _arith(
    n_train: int, n_val: int, n_eval: int, seed: int, probs: dict, tier_weights: dict | None,
    protocol: Any | None = None,
) -> TaskTraces:  # fmt: skip
    protocol, calculator = protocol or TaggedProtocol(), Calculator()
    weights = None if tier_weights is None else [tier_weights.get(t, 1.0) for t in ARITH_TIERS]
    splits = {
        "train": generate_arith(n_train, seed, split="train", tier_weights=weights),
        "val": generate_arith(n_val, seed, split="val"),
        "test": generate_arith(n_eval, seed, split="test"),
    }
    traces = {
        name: [
            arith_trace(t, b, protocol, calculator)
            for t, b in zip(tasks, sample_behaviours(tasks, probs, seed + i), strict=True)
        ]
        for i, (name, tasks) in enumerate(splits.items())
    }
    return TaskTraces(
        traces["train"], traces["val"], traces["test"], splits["test"],
        {"calculator": {}}, protocol,
    )  # fmt: skip


def _kbqa(
    n_train: int, n_val: int, n_eval: int, seed: int, probs: dict, passes: int,
    per_trace: int, tier_weights: dict | None, world_seed: int = 0, search_k: int = 1, corpus_dir: str | Path = "logs/kbqa",
) -> TaskTraces:  # fmt: skip
    world = build_world(world_seed)
    corpus = world.write_corpus(Path(corpus_dir) / f"world-{world_seed}" / "corpus.jsonl")
    protocol, search = TaggedProtocol(), BM25Search(corpus, index_dir=None, k=search_k)
    pool = generate_kbqa(world, None, seed, split="train")
    if tier_weights is None:  # passes over the pool, each in a new order
        train_tasks = [
            task
            for p in range(math.ceil(n_train / len(pool)))
            for task in random.Random(f"{seed}:{p}").sample(pool, len(pool))
        ][:n_train]
    else:  # draws with replacement, each question weighted by its tier
        weights = [tier_weights.get(t.meta["tier"], 1.0) for t in pool]
        train_tasks = random.Random(f"{seed}:weighted").choices(pool, weights, k=n_train)
    val_tasks = generate_kbqa(world, None, seed, split="val")[:n_val]
    test_pool = generate_kbqa(world, None, seed, split="test")
    eval_tasks = test_pool[: min(n_eval, len(test_pool))]

    def traces(tasks: list[TaskExample], offset: int) -> list[Trace]:
        behaviours = sample_behaviours(tasks, probs, seed + offset)
        return [kbqa_trace(t, b, protocol, search) for t, b in zip(tasks, behaviours, strict=True)]

    facts = fact_traces(world.well_known_facts(), passes, per_trace, seed)
    return TaskTraces(
        traces(train_tasks, 0) + facts, traces(val_tasks, 1), traces(test_pool, 2), eval_tasks,
        {"search": {"corpus_path": str(corpus), "k": search_k}}, protocol,
    )  # fmt: skip
