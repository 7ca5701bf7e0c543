"""Synthetic 1-hop and 2-hop questions ("kbqa") over a ``KBWorld``, answered with a search tool.

Contract: ``all_kbqa_questions(world)`` enumerates every question the world supports (one
1-hop question per fact, one 2-hop question per composable pair of facts, see ``CHAINS``), in a
fixed order. ``generate_kbqa(world, n, seed, split, ...)`` keeps those whose question text hashes
into ``split`` (``splits.split_of``: train/val/test never share a question; the world and the
corpus are shared) and samples ``n`` of them without replacement (all of them when ``n`` is
None). With the default world (``build_world()``, seed 0) there are 336 1-hop and 416
2-hop questions: 600 train, 91 val, 61 test (``pool_sizes(build_world())`` gives them by hop
count and tier).

Each ``TaskExample`` has kind ``"kbqa"``, tools ``("search",)``, the answer entity name, and
``meta``: ``hops``, a list of ``{"subject", "relation", "object", "well_known", "query",
"passage_id"}`` in reasoning order; ``well_known`` (every hop is well known); ``tier``
(``"known"``: every hop well known, ``"unknown"``: none, ``"mixed"``: some); ``split``.

Deliberately not done: comparison or yes/no questions, paraphrased question templates.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from lightning_paretopo.data.kbqa_world import RELATIONS, Fact, KBWorld, build_world
from lightning_paretopo.data.splits import (
    DEFAULT_SPLIT_FRACTIONS,
    check_fractions,
    check_split,
    split_of,
)
from lightning_paretopo.types import TaskExample

CHAINS: dict[tuple[str, str], str] = {
    ("born_in", "located_in"): "In which country is the city where {s} was born?",
    ("works_for", "founded_by"): "Who founded the company that {s} works for?",
    ("works_for", "based_in"): "In which city is the company that {s} works for based?",
    ("founded_by", "born_in"): "Where was the founder of {s} born?",
    ("based_in", "located_in"): "In which country is the city where {s} is based?",
}
"""2-hop templates: (first relation, second relation) -> question about the first subject."""

TIERS = ("known", "unknown", "mixed")

__all__ = ["CHAINS", "TIERS", "all_kbqa_questions", "build_world", "generate_kbqa", "pool_sizes"]


def _hop(fact: Fact) -> dict:
    return {
        "subject": fact.subject,
        "relation": fact.relation,
        "object": fact.object,
        "well_known": fact.well_known,
        "query": fact.query,
        "passage_id": fact.id,
    }


def _task(prompt: str, hops: list[Fact], fractions: tuple[float, float, float]) -> TaskExample:
    known = [f.well_known for f in hops]
    tier = "known" if all(known) else ("unknown" if not any(known) else "mixed")
    split = split_of(prompt, fractions)
    return TaskExample(
        id="",  # set by generate_kbqa
        kind="kbqa",
        prompt=prompt,
        answer=hops[-1].object,
        tools=("search",),
        meta={
            "hops": [_hop(f) for f in hops],
            "well_known": all(known),
            "tier": tier,
            "split": split,
        },
    )


def all_kbqa_questions(
    world: KBWorld, split_fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS
) -> list[TaskExample]:
    """Every 1-hop and 2-hop question of ``world`` (ids empty), 1-hop first, in fact order."""
    check_fractions(split_fractions)
    one_hop = [
        _task(RELATIONS[f.relation].question.format(s=f.subject), [f], split_fractions)
        for f in world.facts
    ]
    two_hop = []
    for first in world.facts:
        for (r1, r2), template in CHAINS.items():
            if first.relation == r1:
                second = world.lookup(first.object, r2)
                prompt = template.format(s=first.subject)
                two_hop.append(_task(prompt, [first, second], split_fractions))
    return one_hop + two_hop


def pool_sizes(world: KBWorld) -> dict[str, Counter]:
    """Per split, the number of questions by (hop count, tier); for documentation."""
    sizes: dict[str, Counter] = {}
    for t in all_kbqa_questions(world):
        sizes.setdefault(t.meta["split"], Counter())[(len(t.meta["hops"]), t.meta["tier"])] += 1
    return sizes


def generate_kbqa(
    world: KBWorld,
    n: int | None = None,
    seed: int = 0,
    split: str | None = None,
    hops: Sequence[int] = (1, 2),
    tiers: Sequence[str] = TIERS,
    split_fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS,
) -> list[TaskExample]:
    """Sample ``n`` distinct questions (all when None) of ``split`` with the given hops/tiers.

    Args:
        world: the shared world (``build_world(seed)``).
        n: how many questions; must not exceed the pool; None returns the whole pool in order.
        seed: sampling seed (the pool itself depends only on the world and split).
        split: "train", "val", "test", or None for all questions.
        hops: which hop counts to keep (subset of (1, 2)).
        tiers: which tiers to keep (subset of ``TIERS``).
        split_fractions: (train, val, test) fractions of the question hash space.
    """
    check_split(split)
    if not hops or any(h not in (1, 2) for h in hops):
        raise ValueError(f"hops must be a non-empty subset of (1, 2), got {tuple(hops)!r}")
    if not tiers or any(t not in TIERS for t in tiers):
        raise ValueError(f"tiers must be a non-empty subset of {TIERS}, got {tuple(tiers)!r}")
    pool = [
        t
        for t in all_kbqa_questions(world, split_fractions)
        if (split is None or t.meta["split"] == split)
        and len(t.meta["hops"]) in hops
        and t.meta["tier"] in tiers
    ]
    if n is not None:
        if not 0 <= n <= len(pool):
            raise ValueError(
                f"n={n} but only {len(pool)} questions match split={split!r}, hops={tuple(hops)}, "
                f"tiers={tuple(tiers)}; lower n, or pass n=None for the whole pool"
            )
        pool = random.Random(f"kbqa:{seed}:{split}").sample(pool, n)
    prefix = f"kbqa-{world.seed}-{split or 'all'}"
    return [
        TaskExample(f"{prefix}-{i:05d}", t.kind, t.prompt, t.answer, t.tools, t.meta)
        for i, t in enumerate(pool)
    ]
