"""Warm-start traces: real markup, real tool outputs, and a loss mask on the policy's tokens only."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.kbqa import build_world, generate_kbqa
from lightning_paretopo.policy.tiny import build_tiny_policy, build_tiny_tokenizer
from lightning_paretopo.rollout.markup import TaggedProtocol
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.tools.search import BM25Search
from lightning_paretopo.types import TaskExample
from lightning_paretopo.warmstart.batches import collate_traces, pack_traces, tokenize_trace
from lightning_paretopo.warmstart.traces import (
    Trace,
    arith_facts,
    arith_trace,
    fact_traces,
    kbqa_trace,
    sample_behaviours,
)

PROTOCOL = TaggedProtocol()
HARD = TaskExample(
    id="t0",
    kind="arith",
    prompt="What is (23*17)+45?",
    answer="436",
    tools=("calculator",),
    meta={
        "tier": "hard",
        "expression": "(23*17)+45",
        "steps": [{"expr": "23*17", "value": 391}, {"expr": "391+45", "value": 436}],
    },
)


def _trained_text(trace: Trace) -> str:
    return "".join(text for text, trainable in trace.segments if trainable)


def _turns(trace: Trace) -> list[str]:
    """The policy's turns: the trained text between two observations."""
    turns, current = [], ""
    for text, trainable in trace.segments[1:]:
        if trainable:
            current += text
        else:
            turns, current = [*turns, current], ""
    return [*turns, current]


def test_arith_behaviours_render_exactly_with_real_calculator_outputs() -> None:
    calc = Calculator()
    direct = arith_trace(HARD, "direct", PROTOCOL, calc)
    assert direct.text == "Q: What is (23*17)+45?\n(23*17)+45=436<answer>436</answer>"
    single = arith_trace(HARD, "single_call", PROTOCOL, calc)
    assert single.text == (
        "Q: What is (23*17)+45?\n<calc>(23*17)+45</calc><result>436</result><answer>436</answer>"
    )
    per_step = arith_trace(HARD, "per_step", PROTOCOL, calc)
    assert per_step.text == (
        "Q: What is (23*17)+45?\n<calc>23*17</calc><result>391</result>"
        "<calc>391+45</calc><result>436</result><answer>436</answer>"
    )
    assert (direct.n_calls, single.n_calls, per_step.n_calls) == (0, 1, 2)
    # Observations are not trained on; calls and answers are.
    assert _trained_text(per_step) == "<calc>23*17</calc><calc>391+45</calc><answer>436</answer>"
    observations = [text for text, trainable in per_step.segments if not trainable][1:]
    assert observations == [
        PROTOCOL.format_observation("calculator", calc("23*17")),
        PROTOCOL.format_observation("calculator", calc("391+45")),
    ]


def test_every_generated_arith_trace_parses_back_through_the_markup() -> None:
    calc = Calculator()
    for task in generate_arith(60, seed=3, split="train"):
        for behaviour in ("direct", "single_call", "per_step"):
            trace = arith_trace(task, behaviour, PROTOCOL, calc)
            assert PROTOCOL.extract_answer(trace.text) == task.answer
            turns = _turns(trace)
            assert len(turns) == trace.n_calls + 1
            for turn in turns[:-1]:  # each call turn parses as a well-formed call
                assert PROTOCOL.parse_turn(turn).kind == "call"
            assert PROTOCOL.parse_turn(turns[-1]).kind == "answer"


def test_calculator_disagreeing_with_the_gold_is_an_error() -> None:
    wrong = TaskExample("t1", "arith", "What is 2+2?", "5", meta={"expression": "2+2", "steps": []})
    with pytest.raises(ValueError, match="calculator gives '4'"):
        arith_trace(wrong, "single_call", PROTOCOL, Calculator())
    with pytest.raises(ValueError, match="behaviour"):
        arith_trace(HARD, "guess", PROTOCOL, Calculator())


def test_tokenized_mask_is_one_exactly_on_policy_tokens_and_eos() -> None:
    tok = build_tiny_tokenizer()
    trace = arith_trace(HARD, "per_step", PROTOCOL, Calculator())
    ids, mask = tokenize_trace(trace, tok)
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id and mask[-1] == 1
    assert len(ids) == len(trace.text) + 2  # one token per character, plus <bos> and <eos>
    trained = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert trained == _trained_text(trace) + "<eos>"
    masked = tok.decode(
        [i for i, m in zip(ids, mask, strict=True) if not m], skip_special_tokens=True
    )
    assert "<result>391</result>" in masked and "<calc>" not in masked

    direct = arith_trace(HARD, "direct", PROTOCOL, Calculator())
    batch = collate_traces([trace, direct], tok)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, len(ids))
    labels = batch["labels"][0]
    assert torch.equal(labels[labels != -100], torch.tensor(ids)[torch.tensor(mask) == 1])
    assert batch["attention_mask"][1].sum() == len(direct.text) + 2
    assert (batch["labels"][1] != -100).sum() == len("(23*17)+45=436<answer>436</answer>") + 1


def test_packing_gives_the_same_loss_as_padding() -> None:
    model, tok = build_tiny_policy(hidden_size=32, num_hidden_layers=1, intermediate_size=64)
    calc = Calculator()
    tasks = generate_arith(12, seed=1, split="train")
    traces = [arith_trace(t, b, PROTOCOL, calc) for t in tasks for b in ("direct", "per_step")]
    traces += fact_traces(arith_facts()[:30], passes=1, per_trace=10, seed=0)
    padded, packed = collate_traces(traces, tok), pack_traces(traces, tok, max_length=128)
    assert packed["input_ids"].shape[0] < padded["input_ids"].shape[0]
    rows, width = packed["input_ids"].shape
    assert width <= 128 and packed["attention_mask"].shape == (rows, 1, width, width)
    n_padded = (padded["labels"][:, 1:] != -100).sum()
    assert (packed["labels"][:, 1:] != -100).sum() == n_padded
    with torch.no_grad():
        torch.testing.assert_close(model(**packed).loss, model(**padded).loss)


def test_fact_traces_train_only_on_results_when_asked() -> None:
    facts = arith_facts()
    assert len(facts) == 255 and "7+8=15" in facts and "9-9=0" in facts and "6*7=42" in facts
    traces = fact_traces(facts, passes=2, per_trace=10, seed=0, results_only=True)
    assert len(traces) == 2 * 26
    lines = Counter(line for t in traces for line in t.text.split("\n"))
    assert set(lines) == set(facts) and set(lines.values()) == {2}
    first = traces[0]
    lhs, rhs = first.text.split("\n")[0].split("=")
    assert first.segments[:2] == ((lhs + "=", False), (rhs, True))
    full = fact_traces(["The capital of A is B."], passes=3, per_trace=4, seed=0)
    assert [t.segments for t in full] == [(("The capital of A is B.", True),)] * 3


def test_kbqa_traces_recite_known_hops_and_search_unknown_ones(tmp_path) -> None:
    world = build_world(0)
    search = BM25Search(world.write_corpus(tmp_path / "corpus.jsonl"), k=1)
    tasks = generate_kbqa(world, None, 0, split="train")
    mixed = next(t for t in tasks if t.meta["tier"] == "mixed")
    known_hop = next(h for h in mixed.meta["hops"] if h["well_known"])
    unknown_hop = next(h for h in mixed.meta["hops"] if not h["well_known"])
    trace = kbqa_trace(mixed, "search", PROTOCOL, search)
    assert trace.n_calls == 1
    call = PROTOCOL.format_call("search", unknown_hop["query"])
    observation = PROTOCOL.format_observation("search", search(unknown_hop["query"]))
    sentence = world.lookup(unknown_hop["subject"], unknown_hop["relation"]).sentence
    recall = sentence[: sentence.rindex(unknown_hop["object"])]  # "X was born in the city of "
    assert (recall + call, True) in trace.segments and (observation, False) in trace.segments
    assert unknown_hop["object"] in observation  # the real top-1 passage states the fact
    assert PROTOCOL.parse_turn(recall + call).arguments == unknown_hop["query"]
    recited = [text for text, trainable in trace.segments if trainable and "<" not in text]
    assert recited == [world.lookup(known_hop["subject"], known_hop["relation"]).sentence]
    assert PROTOCOL.extract_answer(trace.text) == mixed.answer
    assert kbqa_trace(mixed, "search_all", PROTOCOL, search).n_calls == 2
    direct = kbqa_trace(mixed, "direct", PROTOCOL, search)
    assert direct.n_calls == 0 and all(trainable for _, trainable in direct.segments[1:])


def test_behaviours_follow_the_tier_probabilities_and_the_seed() -> None:
    tasks = generate_arith(600, seed=0, split="train")
    probs = {"easy": {"direct": 1.0}, "*": {"direct": 0.25, "single_call": 0.75}}
    drawn = sample_behaviours(tasks, probs, seed=5)
    assert drawn == sample_behaviours(tasks, probs, seed=5)
    easy = [b for t, b in zip(tasks, drawn, strict=True) if t.meta["tier"] == "easy"]
    other = [b for t, b in zip(tasks, drawn, strict=True) if t.meta["tier"] != "easy"]
    assert set(easy) == {"direct"}
    assert 0.65 < other.count("single_call") / len(other) < 0.85
    with pytest.raises(ValueError, match="no entry for tier"):
        sample_behaviours(tasks, {"easy": {"direct": 1.0}}, seed=0)
