"""Tests for the synthetic knowledge-base world and its 1-hop / 2-hop questions."""

from __future__ import annotations

import json

import bm25s
import pytest

from lightning_paretopo.data.kbqa import all_kbqa_questions, generate_kbqa, pool_sizes
from lightning_paretopo.data.kbqa_world import RELATIONS, build_world


@pytest.fixture(scope="module")
def world():
    return build_world(seed=0)


@pytest.fixture(scope="module")
def questions(world):
    return all_kbqa_questions(world)


def test_world_is_deterministic_and_sized_as_documented(world):
    assert build_world(seed=0) == world
    assert build_world(seed=1).facts != world.facts
    sizes = {k: len(v) for k, v in world.entities.items()}
    assert sizes == {"country": 8, "city": 32, "company": 28, "person": 120}
    assert len(world.facts) == 120 * 2 + 28 * 2 + 32 + 8 == 336
    names = [n for group in world.entities.values() for n in group]
    words = [w for n in names for w in n.split()]
    assert len(set(words)) == len(words)  # every name word is unique
    assert all(3 <= len(w) <= 7 and w.isalpha() and w[0].isupper() for w in words)


def test_questions_pool_sizes(questions, world):
    hops = [len(q.meta["hops"]) for q in questions]
    assert hops.count(1) == 336 and hops.count(2) == 416
    per_split = {s: sum(c.values()) for s, c in pool_sizes(world).items()}
    assert per_split == {"train": 600, "val": 91, "test": 61}
    assert len({q.prompt for q in questions}) == len(questions)


def test_gold_answer_is_supported_by_the_hop_passages(world, questions):
    passages = {p["id"]: p for p in world.passages()}
    for q in questions:
        hops = q.meta["hops"]
        assert q.answer == hops[-1]["object"]
        assert hops[0]["subject"] in q.prompt
        for i, hop in enumerate(hops):
            text = passages[hop["passage_id"]]["text"]
            assert hop["subject"] in text and hop["object"] in text
            expected = RELATIONS[hop["relation"]].sentence.format(s=hop["subject"], o=hop["object"])
            assert text == expected
            if i > 0:
                assert hop["subject"] == hops[i - 1]["object"]


def test_hand_checked_two_hop_question(world):
    q = next(t for t in all_kbqa_questions(world) if t.prompt.endswith("was born?"))
    assert q.prompt.startswith("In which country is the city where")
    person, city = q.meta["hops"][0]["subject"], q.meta["hops"][0]["object"]
    assert world.lookup(person, "born_in").object == city
    assert q.answer == world.lookup(city, "located_in").object
    assert q.meta["hops"][0]["query"] == f"{person} born"


def test_well_known_facts_in_warm_start_text_and_unknown_not(world, questions):
    warm = "\n".join(world.well_known_facts())
    known = [f for f in world.facts if f.well_known]
    assert len(known) == round(0.3 * len(world.facts))
    for fact in world.facts:
        assert (fact.sentence in warm) == fact.well_known
    for q in questions:
        flags = [h["well_known"] for h in q.meta["hops"]]
        assert q.meta["well_known"] == all(flags)
        want = "known" if all(flags) else "unknown" if not any(flags) else "mixed"
        assert q.meta["tier"] == want


def test_each_hop_query_retrieves_its_passage_first_with_bm25(world, questions):
    passages = world.passages()
    retriever = bm25s.BM25()
    corpus = [f"{p['title']} {p['text']}" for p in passages]
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False
    )
    hops = [h for q in questions for h in q.meta["hops"]]
    tokens = bm25s.tokenize([h["query"] for h in hops], stopwords="en", show_progress=False)
    docs, _ = retriever.retrieve(tokens, k=1, show_progress=False)
    top = [passages[int(d[0])]["id"] for d in docs]
    assert top == [h["passage_id"] for h in hops]


def test_splits_are_disjoint_and_cover_everything(world, questions):
    by_split = {
        s: {t.prompt for t in generate_kbqa(world, split=s)} for s in ("train", "val", "test")
    }
    assert not by_split["train"] & by_split["val"]
    assert not by_split["train"] & by_split["test"]
    assert not by_split["val"] & by_split["test"]
    assert set().union(*by_split.values()) == {q.prompt for q in questions}


def test_sampling_is_seeded_distinct_and_filtered(world):
    a = generate_kbqa(world, n=40, seed=5, split="train", hops=(2,))
    assert a == generate_kbqa(world, n=40, seed=5, split="train", hops=(2,))
    assert len({t.prompt for t in a}) == 40
    assert all(len(t.meta["hops"]) == 2 and t.meta["split"] == "train" for t in a)
    assert all(t.kind == "kbqa" and t.tools == ("search",) for t in a)
    assert len({t.id for t in a}) == 40
    known = generate_kbqa(world, split="train", tiers=("known",))
    assert known and all(t.meta["well_known"] for t in known)


def test_corpus_round_trip(world, tmp_path):
    path = world.write_corpus(tmp_path / "kb" / "corpus.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == world.passages()
    assert len({r["id"] for r in rows}) == len(rows) == 336
    assert set(rows[0]) == {"id", "title", "text"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n": 10_000}, "n="), ({"hops": (3,)}, "hops"), ({"tiers": ("easy",)}, "tiers")],
)
def test_bad_arguments_name_the_field(world, kwargs, field):
    with pytest.raises(ValueError, match=field):
        generate_kbqa(world, **kwargs)


def test_bad_world_arguments():
    with pytest.raises(ValueError, match="well_known_fraction"):
        build_world(well_known_fraction=1.5)
    with pytest.raises(ValueError, match="entity count"):
        build_world(n_people=0)
