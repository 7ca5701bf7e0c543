"""A seeded made-up world of entities and facts for the synthetic "kbqa" tasks.

Contract: ``build_world(seed)`` returns the same ``KBWorld`` on every machine. Default sizes
(kept small for a tiny character-level policy): 8 countries, 32 cities (4 per country, the
first one the capital), 28 companies, 120 people: 188 entities; every entity name word is
unique and 3-7 letters long (people have two words, e.g. "Rafos Nis"). Facts (one per functional relation and subject):

    relation     subject -> object   sentence (= the passage text)
    born_in      person  -> city     "{s} was born in the city of {o}."
    works_for    person  -> company  "{s} works for the company {o}."
    founded_by   company -> person   "{s} was founded by {o}."
    based_in     company -> city     "{s} is a company based in the city of {o}."
    located_in   city    -> country  "{s} is a city in the country of {o}."
    has_capital  country -> city     "The capital of {s} is {o}."

That is 120*2 + 28*2 + 32 + 8 = 336 facts with the defaults. The corpus has one passage per fact,
``{"id": fact.id, "title": subject, "text": sentence}``, so a BM25 query such as
``"<subject> born"`` finds it. A seeded fraction (default 0.3) of the facts is "well known":
``well_known_facts()`` lists their sentences for the policy's warm-start text; the others must
be searched.

Deliberately not done: non-functional relations (every question has exactly one answer),
distractor passages, aliases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lightning_paretopo.data.io import write_jsonl


@dataclass(frozen=True)
class Relation:
    """How one relation is stated, searched for and asked about."""

    subject_type: str
    object_type: str
    sentence: str
    query: str
    question: str


RELATIONS: dict[str, Relation] = {
    "born_in": Relation(
        "person", "city", "{s} was born in the city of {o}.", "{s} born", "Where was {s} born?"
    ),
    "works_for": Relation(
        "person",
        "company",
        "{s} works for the company {o}.",
        "{s} works for",
        "Which company does {s} work for?",
    ),
    "founded_by": Relation(
        "company", "person", "{s} was founded by {o}.", "{s} founded by", "Who founded {s}?"
    ),
    "based_in": Relation(
        "company",
        "city",
        "{s} is a company based in the city of {o}.",
        "{s} based",
        "In which city is {s} based?",
    ),
    "located_in": Relation(
        "city",
        "country",
        "{s} is a city in the country of {o}.",
        "{s} country",
        "In which country is {s}?",
    ),
    "has_capital": Relation(
        "country",
        "city",
        "The capital of {s} is {o}.",
        "capital of {s}",
        "What is the capital of {s}?",
    ),
}


@dataclass(frozen=True)
class Fact:
    """One (subject, relation, object) triple; ``id`` is also its passage id."""

    id: str
    subject: str
    relation: str
    object: str
    well_known: bool

    @property
    def sentence(self) -> str:
        return RELATIONS[self.relation].sentence.format(s=self.subject, o=self.object)

    @property
    def query(self) -> str:
        return RELATIONS[self.relation].query.format(s=self.subject)


_ONSETS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_CODAS = "nrlsk"


class _Namer:
    """Draws unique pronounceable capitalised words (no word is ever reused)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set()

    def _syllable(self, coda: bool) -> str:
        syl = self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS)
        return syl + self.rng.choice(_CODAS) if coda else syl

    def word(self, pattern: tuple[bool, ...], suffix: str = "") -> str:
        for _ in range(10_000):
            w = ("".join(self._syllable(c) for c in pattern) + suffix).capitalize()
            if w not in self.used:
                self.used.add(w)
                return w
        raise ValueError(f"name space exhausted for pattern {pattern}; shrink the world")


@dataclass(frozen=True)
class KBWorld:
    """Entities by type and the list of facts (see the module docstring)."""

    seed: int
    entities: dict[str, tuple[str, ...]]
    facts: tuple[Fact, ...]

    @cached_property
    def _index(self) -> dict[tuple[str, str], Fact]:
        return {(f.subject, f.relation): f for f in self.facts}

    def lookup(self, subject: str, relation: str) -> Fact:
        """The fact for (subject, relation); KeyError when there is none."""
        return self._index[(subject, relation)]

    def well_known_facts(self) -> list[str]:
        """Sentences of the well-known facts, in fact order, for the warm-start text."""
        return [f.sentence for f in self.facts if f.well_known]

    def passages(self) -> list[dict]:
        """The corpus: one ``{"id", "title", "text"}`` passage per fact."""
        return [{"id": f.id, "title": f.subject, "text": f.sentence} for f in self.facts]

    def write_corpus(self, path: str | Path) -> Path:
        """Write ``passages()`` as jsonl to ``path``; returns the path."""
        return write_jsonl(self.passages(), path)


def _make_entities(rng: random.Random, sizes: dict[str, int]) -> dict[str, list[str]]:
    namer = _Namer(rng)
    return {
        "country": [namer.word((False, True), "ia") for _ in range(sizes["country"])],
        "city": [namer.word((False, False, True)) for _ in range(sizes["city"])],
        "company": [namer.word((True,), "co") for _ in range(sizes["company"])],
        "person": [
            f"{namer.word((False, True))} {namer.word((True,))}" for _ in range(sizes["person"])
        ],
    }


def build_world(
    seed: int = 0,
    n_countries: int = 8,
    cities_per_country: int = 4,
    n_companies: int = 28,
    n_people: int = 120,
    well_known_fraction: float = 0.3,
) -> KBWorld:
    """Generate the world; the same arguments always give the same world."""
    sizes = {
        "country": n_countries,
        "city": n_countries * cities_per_country,
        "company": n_companies,
        "person": n_people,
    }
    if min(sizes.values()) < 1:
        raise ValueError(f"every entity count must be >= 1, got {sizes}")
    if not 0.0 <= well_known_fraction <= 1.0:
        raise ValueError(f"well_known_fraction must be in [0, 1], got {well_known_fraction}")
    rng = random.Random(f"kbqa-world:{seed}")
    ents = _make_entities(rng, sizes)
    triples: list[tuple[str, str, str]] = []
    for i, country in enumerate(ents["country"]):
        cities = ents["city"][i * cities_per_country : (i + 1) * cities_per_country]
        triples.append((country, "has_capital", cities[0]))
        triples += [(city, "located_in", country) for city in cities]
    for company in ents["company"]:
        triples.append((company, "based_in", rng.choice(ents["city"])))
        triples.append((company, "founded_by", rng.choice(ents["person"])))
    for person in ents["person"]:
        triples.append((person, "born_in", rng.choice(ents["city"])))
        triples.append((person, "works_for", rng.choice(ents["company"])))
    n_known = round(well_known_fraction * len(triples))
    known = set(rng.sample(range(len(triples)), n_known))
    facts = tuple(Fact(f"kb-{i:04d}", s, r, o, i in known) for i, (s, r, o) in enumerate(triples))
    return KBWorld(seed, {k: tuple(v) for k, v in ents.items()}, facts)
