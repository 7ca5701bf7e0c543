"""Chat warm-start traces: rendered as the rollout renders them, trained on the assistant only.

``chat_tok`` (tests/warmstart/conftest.py), a character tokenizer with SmolLM2's own chat template,
stands in for the real tokenizer: the tests need no weights.
"""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.args import ChatArgs
from lightning_paretopo.building import chat_protocol
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.readers_math import read_gsm8k
from lightning_paretopo.rollout.chat_prompt import HERMES_HEAD
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.rollout.markup import TaggedProtocol
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.types import TaskExample
from lightning_paretopo.warmstart.batches import collate_traces, tokenize_trace
from lightning_paretopo.warmstart.chat_traces import Step, gsm8k_trace, solution_steps
from lightning_paretopo.warmstart.traces import arith_trace
from tests.rollout.conftest import ScriptedPolicy

SOLUTION = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May."
)
GSM8K_TASK = TaskExample(
    "g0", "gsm8k", "How many clips?", "72", tools=("calculator",), meta={"solution": SOLUTION}
)


@pytest.fixture
def proto(chat_tok):
    return chat_protocol(ChatArgs(), chat_tok)


def test_solution_steps_split_at_the_calculator_marks() -> None:
    steps, tail = solution_steps(SOLUTION)
    assert steps == [
        Step("Natalia sold 48/2 = ", "48/2", "24"),
        Step("24 clips in May.\nNatalia sold 48+24 = ", "48+24", "72"),
    ]
    assert tail == "72 clips altogether in April and May."
    assert solution_steps("no marks") == ([], "no marks")


def test_gsm8k_trace_calls_at_every_mark_with_real_observations() -> None:
    trace = gsm8k_trace(GSM8K_TASK, TaggedProtocol(), Calculator())
    assert trace.segments == (
        ("Q: How many clips?\n", False),
        ("Natalia sold 48/2 = <calc>48/2</calc>", True),
        ("<result>24</result>", False),
        ("24 clips in May.\nNatalia sold 48+24 = <calc>48+24</calc>", True),
        ("<result>72</result>", False),
        ("72 clips altogether in April and May.\n<answer>72</answer>", True),
    )
    assert (trace.n_calls, trace.tier, trace.behaviour) == (2, "gsm8k", "gsm8k_calls")


@pytest.mark.parametrize(
    ("solution", "max_calls"),
    [
        ("No marks at all.", 3),  # nothing to call
        (SOLUTION, 1),  # more marks than max_calls
        ("It costs 5,000+2 = <<5,000+2=5002>>5002.", 3),  # the calculator refuses it
        ("Wrong: 2+2 = <<2+2=5>>5.", 3),  # the mark disagrees with the calculator
    ],
)
def test_gsm8k_solutions_a_rollout_could_not_reproduce_give_no_trace(solution, max_calls):
    task = TaskExample("g", "gsm8k", "Q?", "1", meta={"solution": solution})
    assert gsm8k_trace(task, TaggedProtocol(), Calculator(), max_calls) is None


def test_real_gsm8k_solutions_mostly_give_traces(shared_data) -> None:
    tasks = read_gsm8k(shared_data / "gsm8k" / "train.jsonl")[:200]
    traces = [gsm8k_trace(t, TaggedProtocol(), Calculator(), max_calls=3) for t in tasks]
    kept = [t for t in traces if t is not None]
    assert len(kept) >= 100  # about 60% of GSM8K solutions have 1-3 usable marks
    assert all(t.text.endswith(f"<answer>{task.answer}</answer>") for t, task in
               zip(traces, tasks, strict=True) if t is not None)  # fmt: skip


def test_chat_trace_prompt_is_the_rollout_prompt_with_hermes_schemas(proto, chat_tok) -> None:
    task = generate_arith(1, 0, tiers=("hard",), split="val")[0]
    trace = arith_trace(task, "single_call", proto, Calculator())
    assert trace.segments[0] == (proto.render_prompt(task, chat_tok), False)
    assert HERMES_HEAD in trace.segments[0][0] and proto.tools_in == "system"
    ids, mask = tokenize_trace(trace, chat_tok, proto.add_special_tokens_to_prompt)
    prompt_ids = chat_tok(trace.segments[0][0], add_special_tokens=False).input_ids
    assert ids[: len(prompt_ids)] == prompt_ids and not any(mask[: len(prompt_ids)])


def test_sft_labels_are_the_assistant_tokens_only(proto, chat_tok) -> None:
    task = generate_arith(1, 0, tiers=("hard",), split="val")[0]
    trace = arith_trace(task, "per_step", proto, Calculator())
    batch = collate_traces([trace], chat_tok, max_length=2048, prompt_special_tokens=False)
    labels = batch["labels"][0]
    trained = chat_tok.decode(labels[labels != -100])
    assistant = "".join(text for text, trainable in trace.segments if trainable)
    assert trained == assistant + "<|im_end|>"
    assert "<|im_start|>tool" not in trained and "<tools>" not in trained
    assert trained.count("<tool_call>") == 2 and trained.endswith("</answer><|im_end|>")


@pytest.mark.parametrize("behaviour", ["direct", "single_call", "per_step"])
def test_the_engine_replaying_a_trace_produces_its_tokens_and_mask(
    proto, chat_tok, behaviour
) -> None:
    """Train == rollout: a policy that emits the trace's assistant tokens, run through the real
    engine with the real calculator, yields exactly the trace's tokens, and its action mask is
    the SFT loss mask (the closing EOS aside: ``</answer>`` ends the rollout's turn first)."""
    task = generate_arith(1, 0, tiers=("hard",), split="val")[0]
    trace = arith_trace(task, behaviour, proto, Calculator())
    ids, mask = tokenize_trace(trace, chat_tok, proto.add_special_tokens_to_prompt)
    policy = ScriptedPolicy([ids], len(chat_tok), filler_id=chat_tok.eos_token_id)
    engine = RolloutEngine(
        proto, {"calculator": Calculator()}, max_turns=4, max_new_tokens=400,
        max_total_tokens=4096, do_sample=False,
    )  # fmt: skip
    batch = engine.generate(policy, chat_tok, [task], group_size=1)
    assert batch.input_ids[0].tolist() == ids[:-1]
    assert batch.action_mask[0].tolist() == mask[:-1]
    assert int(batch.tool_calls[0]) == trace.n_calls and not bool(batch.truncated[0])
    assert [engine.protocol.extract_answer(t) for t in batch.texts] == [task.answer]


def test_chat_gsm8k_trace_replays_through_the_engine(proto, chat_tok) -> None:
    trace = gsm8k_trace(GSM8K_TASK, proto, Calculator())
    ids, mask = tokenize_trace(trace, chat_tok, False)
    policy = ScriptedPolicy([ids], len(chat_tok), filler_id=chat_tok.eos_token_id)
    engine = RolloutEngine(proto, {"calculator": Calculator()}, 4, 400, 4096, do_sample=False)
    batch = engine.generate(policy, chat_tok, [GSM8K_TASK], group_size=1)
    assert batch.input_ids[0].tolist() == ids[:-1]
    assert torch.equal(batch.action_mask[0], torch.tensor(mask[:-1]))
    assert "<|im_start|>tool\n24<|im_end|>" in batch.texts[0]
