"""RolloutEngine: scripted policies pin exact token streams; a tiny random Llama checks invariants."""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.rollout import TaggedProtocol
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.types import TaskExample, TurnSpan
from tests.rollout.conftest import ForcedLlama, ScriptedPolicy, llama_config

P = TaggedProtocol()
TASK_A = TaskExample("a", "arith", "2+3?", "5", tools=("calculator",))
TASK_B = TaskExample("b", "arith", "1+1?", "2", tools=("calculator",))
PROMPT_LEN = 9  # <bos> + "Q: 2+3?\n" (8 characters)


def chars(tok, text: str) -> list[int]:
    """One id per character, so merges ("ab", "c>") are deliberately NOT applied."""
    return tok.convert_tokens_to_ids(list(text))


def enc(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def build(tok, task, pieces):
    """Target ids + action mask from ("act", ids) / ("obs", text) pieces after the prompt."""
    ids = tok(P.render_prompt(task))["input_ids"]
    mask = [0] * len(ids)
    for kind, piece in pieces:
        new = piece if kind == "act" else enc(tok, piece)
        ids, mask = ids + new, mask + [int(kind == "act")] * len(new)
    return ids, mask


def run(tok, tools, targets, tasks, **kw):
    engine = RolloutEngine(P, tools, **kw)
    policy = ScriptedPolicy(targets, len(tok), filler_id=tok.convert_tokens_to_ids("z"))
    return engine, engine.generate(policy, tok, tasks, group_size=1)


def row(batch, i):
    n = int(batch.attention_mask[i].sum())
    return batch.input_ids[i, :n].tolist(), batch.action_mask[i, :n].tolist()


def test_scripted_multi_turn_equals_manual_concatenation(tok, tools):
    turn0 = chars(tok, "x<calc>2+3</cal") + [tok.convert_tokens_to_ids("c>")]  # stop ends in-token
    turn1, turn2 = chars(tok, "<search>ab</search>"), chars(tok, "<answer>5</answer>")
    a_ids, a_mask = build(
        tok,
        TASK_A,
        [("act", turn0), ("obs", "<result>5</result>"), ("act", turn1)]
        + [("obs", "<information>ba</information>"), ("act", turn2)],
    )
    b_ids, b_mask = build(
        tok,
        TASK_B,
        [("act", chars(tok, "<calc>1+1</calc>")), ("obs", "<result>2</result>")]
        + [("act", chars(tok, "<answer>2</answer>"))],
    )
    engine, batch = run(tok, tools, [a_ids, b_ids], [TASK_A, TASK_B], do_sample=False)
    assert row(batch, 0) == (a_ids, a_mask)
    assert row(batch, 1) == (b_ids, b_mask)
    assert batch.input_ids.shape == (2, len(a_ids))
    assert batch.input_ids[1, len(b_ids) :].eq(tok.pad_token_id).all()
    assert batch.texts[0] == (
        "x<calc>2+3</calc><result>5</result><search>ab</search>"
        "<information>ba</information><answer>5</answer>"
    )
    pl = int(batch.prompt_lengths[0])
    assert pl == PROMPT_LEN
    # turn0: 15 chars + the merged "c>" = 16; obs 18; turn1 19; obs 29; turn2 18
    assert batch.turns[0] == [
        TurnSpan(pl, pl + 16, "calculator", True),
        TurnSpan(pl + 34, pl + 53, "search", True),
        TurnSpan(pl + 82, pl + 100, None, True),
    ]
    assert batch.tool_calls.tolist() == [2, 1]
    assert batch.invalid_calls.tolist() == [0, 0]
    assert batch.truncated.tolist() == [False, False]
    assert [engine.protocol.extract_answer(t) for t in batch.texts] == ["5", "2"]
    assert batch.tool_turn_mask()[0].sum() == 16 + 19


def test_sampled_tokens_are_never_retokenized(tok, tools):
    sampled = chars(tok, "<answer>ab</answer>")
    ids, _ = build(tok, TASK_A, [("act", sampled)])
    _, batch = run(tok, tools, [ids], [TASK_A])  # do_sample=True: forced logits still decide
    assert enc(tok, tok.decode(sampled)) != sampled  # decode -> encode is not the identity here
    got, mask = row(batch, 0)
    assert got == ids
    assert [t for t, m in zip(got, mask, strict=True) if m] == sampled


def test_invalid_calls_are_counted_and_answered_with_an_error(tok, tools):
    ids, mask = build(
        tok,
        TASK_A,
        [
            ("act", chars(tok, "<calc></calc>")),
            ("obs", "<result>error: empty arguments in <calc></result>"),
        ]
        + [
            ("act", chars(tok, "<calc>2+x</calc>")),
            ("obs", "<result>error: cannot add '2+x'</result>"),
        ]
        + [
            ("act", chars(tok, "<foo>1</foo><answer>")),
            ("obs", "<result>error: unknown tag <foo></result>"),
        ],
    )
    _, batch = run(tok, tools, [ids], [TASK_A], max_turns=3, max_new_tokens=20)
    got, got_mask = row(batch, 0)
    # the third turn is the last one: its error observation is not appended
    n_last_obs = len(enc(tok, "<result>error: unknown tag <foo></result>"))
    assert got == ids[:-n_last_obs] and got_mask == mask[:-n_last_obs]
    assert [(s.tool, s.valid) for s in batch.turns[0]] == [
        ("calculator", False),
        ("calculator", False),
        (None, False),
    ]
    assert batch.tool_calls.tolist() == [3] and batch.invalid_calls.tolist() == [3]
    assert batch.truncated.tolist() == [True]


def test_call_left_open_at_turn_budget_gets_an_error_and_the_row_continues(tok, tools):
    ids, mask = build(
        tok,
        TASK_A,
        [
            ("act", chars(tok, "<calc>123456789012")),
            ("obs", "<result>error: unclosed <calc> tag</result>"),
        ]
        + [("act", chars(tok, "<answer>3</answer>"))],
    )
    _, batch = run(tok, tools, [ids + chars(tok, "9")], [TASK_A], max_new_tokens=18)
    assert row(batch, 0) == (ids, mask)
    assert batch.invalid_calls.tolist() == [1] and batch.truncated.tolist() == [False]


def test_max_turns_stops_and_flags_truncation(tok, tools):
    call = chars(tok, "<calc>1+1</calc>")
    ids, mask = build(tok, TASK_A, [("act", call), ("obs", "<result>2</result>")] * 3)
    _, batch = run(tok, tools, [ids], [TASK_A], max_turns=2)
    got, got_mask = row(batch, 0)
    cut = len(ids) - 2 * len(enc(tok, "<result>2</result>")) - len(call)  # call, obs, call
    assert got == ids[:cut] and got_mask == mask[:cut]
    assert batch.tool_calls.tolist() == [2] and batch.truncated.tolist() == [True]


@pytest.mark.parametrize("room", [12, 25])
def test_max_total_tokens_caps_every_row(tok, tools, room):
    call = chars(tok, "<calc>1+1</calc>")  # 16 tokens; the observation is 18
    ids, _ = build(tok, TASK_A, [("act", call), ("obs", "<result>2</result>"), ("act", call)])
    prompt = PROMPT_LEN
    _, batch = run(tok, tools, [ids], [TASK_A], max_total_tokens=prompt + room)
    got, got_mask = row(batch, 0)
    # room 12: the call is cut at the budget; room 25: the call fits, its observation does not
    assert got == ids[: prompt + min(room, 16)]
    assert sum(got_mask) == min(room, 16) and len(got) <= prompt + room
    assert batch.truncated.tolist() == [True] and batch.tool_calls.tolist() == [1]


def test_eos_ends_the_row_and_is_kept_as_an_action(tok, tools):
    sampled = chars(tok, "hi") + [tok.eos_token_id]
    ids, mask = build(tok, TASK_A, [("act", sampled)])
    _, batch = run(tok, tools, [ids], [TASK_A])
    assert row(batch, 0) == (ids, mask)
    assert batch.turns[0] == [TurnSpan(PROMPT_LEN, PROMPT_LEN + 3, None, True)]
    # it ended by itself (no budget cut): not truncated, answer or not (the heads judge that)
    assert batch.truncated.tolist() == [False] and batch.tool_calls.tolist() == [0]


def test_plain_text_at_the_turn_budget_is_truncated(tok, tools):
    ids, mask = build(tok, TASK_A, [("act", chars(tok, "#### 3 and on"))])
    _, batch = run(tok, tools, [ids + chars(tok, "x")], [TASK_A], max_new_tokens=13)
    assert row(batch, 0) == (ids, mask)
    assert batch.truncated.tolist() == [True]


def test_random_llama_groups_masks_and_budgets(tok, tools, tiny_llama):
    tasks = [TASK_A, TASK_B, TaskExample("c", "arith", "12*13+7?", "163")]
    engine = RolloutEngine(P, tools, max_turns=3, max_new_tokens=10, max_total_tokens=30)
    torch.manual_seed(3)
    batch = engine.generate(tiny_llama, tok, tasks, group_size=4)
    assert len(batch) == 12 and batch.group_size == 4
    for i in range(12):
        prompt = tok(P.render_prompt(tasks[i // 4]))["input_ids"]
        n = int(batch.attention_mask[i].sum())
        assert batch.prompt_lengths[i] == len(prompt) and n <= 30
        assert batch.input_ids[i, : len(prompt)].tolist() == prompt
        assert batch.attention_mask[i, :n].all() and not batch.attention_mask[i, n:].any()
        assert not batch.action_mask[i, : len(prompt)].any() and not batch.action_mask[i, n:].any()
        spans = torch.zeros_like(batch.action_mask[i])
        for span in batch.turns[i]:
            spans[span.start : span.end] = 1
        assert torch.equal(spans, batch.action_mask[i])  # turns tile the sampled tokens exactly
    torch.manual_seed(3)
    again = engine.generate(tiny_llama, tok, tasks, group_size=4)
    assert torch.equal(again.input_ids, batch.input_ids) and again.texts == batch.texts


def test_single_turn_sampling_equals_hf_generate(tok, tiny_llama):
    tasks = [TASK_A, TaskExample("c", "arith", "12*13+7?", "163")]
    engine = RolloutEngine(P, {}, max_turns=1, max_new_tokens=25, eos_token_ids=[])
    torch.manual_seed(7)
    batch = engine.generate(tiny_llama, tok, tasks, group_size=1)
    inputs = tok([P.render_prompt(t) for t in tasks], return_tensors="pt", padding=True)
    torch.manual_seed(7)
    ref = tiny_llama.generate(
        **inputs, max_new_tokens=25, do_sample=True, top_k=0, eos_token_id=None, pad_token_id=0
    )
    width = inputs["input_ids"].shape[1]
    for i in range(2):
        pl = int(batch.prompt_lengths[i])
        assert batch.input_ids[i, pl : pl + 25].tolist() == ref[i, width:].tolist()


def test_engine_leaves_the_mode_and_grads_alone(tok, tiny_llama):
    tiny_llama.train()
    engine = RolloutEngine(P, {}, max_turns=1, max_new_tokens=3)
    batch = engine.generate(tiny_llama, tok, [TASK_A], group_size=2)
    assert tiny_llama.training and not batch.input_ids.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_turns": 0}, "max_turns"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_total_tokens": 1}, "max_total_tokens"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"tool_workers": 0}, "tool_workers"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        RolloutEngine(P, {}, **kwargs)


def test_bad_generate_arguments(tok, tiny_llama):
    engine = RolloutEngine(P, {})
    with pytest.raises(ValueError, match="group_size"):
        engine.generate(tiny_llama, tok, [TASK_A], group_size=0)
    with pytest.raises(ValueError, match="tasks"):
        engine.generate(tiny_llama, tok, [], group_size=2)


def test_call_to_a_tool_the_engine_lacks_is_invalid(tok, tools):
    ids, mask = build(
        tok,
        TASK_A,
        [("act", chars(tok, "<python>1</python>"))]
        + [("obs", "<output>error: unknown tool 'python'; available: calculator, search</output>")]
        + [("act", chars(tok, "<answer>1</answer>"))],
    )
    _, batch = run(tok, tools, [ids], [TASK_A])
    assert row(batch, 0) == (ids, mask)
    assert batch.turns[0][0].tool == "python" and not batch.turns[0][0].valid
    assert batch.invalid_calls.tolist() == [1] and batch.truncated.tolist() == [False]


def test_cache_reuse_feeds_only_new_tokens(tok, tools):
    call = chars(tok, "<calc>1+1</calc>")
    ids, mask = build(
        tok, TASK_A, [("act", call), ("obs", "<result>2</result>"), ("act", call)] * 1
    )
    engine = RolloutEngine(P, tools, max_turns=2)
    policy = ScriptedPolicy([ids], len(tok), filler_id=tok.convert_tokens_to_ids("z"))
    batch = engine.generate(policy, tok, [TASK_A], group_size=1)
    assert row(batch, 0) == (ids, mask)
    # prefill (9), 15 decode steps, then the last call token + the 18-token observation
    assert policy.widths == [PROMPT_LEN] + [1] * 15 + [1 + 18] + [1] * 15


def test_forced_llama_tokens_are_the_argmax_of_a_full_forward(tok, tools):
    """Cache reuse across turns (holes, positions) gives what a plain full forward predicts."""
    torch.manual_seed(0)
    model = ForcedLlama(llama_config(tok, initializer_range=0.5)).eval()
    # prompts of 9, 10 and 11 tokens: forced positions are absolute, so the rows sample 3, 2
    # and 1 free tokens first and end their first turn at different steps
    tasks = [TASK_A, TaskExample("e", "arith", "12+3?", "15"), TaskExample("f", "a", "123+4?", "")]
    turn0 = "<calc>1+1</calc>"  # then 18 observation tokens
    turn1 = "<answer>2</answer>"  # after 2 free tokens
    start1 = PROMPT_LEN + 3 + len(turn0) + 18 + 2
    model.force = {PROMPT_LEN + 3 + i: t for i, t in enumerate(chars(tok, turn0))}
    model.force |= {start1 + i: t for i, t in enumerate(chars(tok, turn1))}
    batches = [
        RolloutEngine(P, tools, do_sample=False, eos_token_ids=[], reuse_cache=reuse).generate(
            model, tok, tasks, group_size=2
        )
        for reuse in (True, False)
    ]
    batch = batches[0]
    assert torch.equal(batch.input_ids, batches[1].input_ids)
    assert batch.tool_calls.tolist() == [1] * 6 and not batch.truncated.any()
    completion = batch.attention_mask.sum(-1) - batch.prompt_lengths  # [N]
    assert completion.tolist() == [3 + 16 + 18 + 2 + 18] * 2 + [56] * 2 + [55] * 2
    assert len({t[:1] for t in batch.texts}) > 1  # greedy, yet not one degenerate string
    n = batch.input_ids.shape[1]
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=torch.arange(n).expand(len(batch), n),
    ).logits  # [N, T, V]
    predicted = logits[:, :-1].argmax(-1)  # [N, T-1]
    sampled = batch.action_mask[:, 1:].bool()
    assert torch.equal(predicted[sampled], batch.input_ids[:, 1:][sampled])


def test_peft_lora_model_samples_like_its_base(tok, tiny_llama):
    """The cache kwarg is found through PEFT's wrapper; a fresh LoRA (B = 0) changes nothing."""
    from peft import LoraConfig, get_peft_model

    engine = RolloutEngine(P, {}, max_turns=1, max_new_tokens=12, eos_token_ids=[])
    torch.manual_seed(5)
    base = engine.generate(tiny_llama, tok, [TASK_A, TASK_B], group_size=2)
    lora = get_peft_model(tiny_llama, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(5)
    wrapped = engine.generate(lora, tok, [TASK_A, TASK_B], group_size=2)
    assert torch.equal(wrapped.input_ids, base.input_ids)


def test_greedy_is_a_per_call_choice_and_the_batch_moves_whole(tok, tools, tiny_llama):
    tasks = [TASK_A, TASK_B]
    engine = RolloutEngine(P, tools, max_turns=2, max_new_tokens=8, max_total_tokens=30)
    greedy = engine.generate(tiny_llama, tok, tasks, group_size=3, greedy=True)
    assert engine.sampling.do_sample is True  # the call did not change the engine
    for g in range(2):  # greedy: every row of a group is the same trajectory
        rows = greedy.input_ids[3 * g : 3 * g + 3]
        assert (rows == rows[0]).all()
    fixed = RolloutEngine(P, tools, max_turns=2, max_new_tokens=8, max_total_tokens=30,
                          do_sample=False)  # fmt: skip
    assert torch.equal(fixed.generate(tiny_llama, tok, tasks, group_size=3).input_ids,
                       greedy.input_ids)  # fmt: skip
    moved = greedy.to("meta")
    tensors = [f for f, v in vars(greedy).items() if isinstance(v, torch.Tensor)]
    assert len(tensors) == 7 and all(getattr(moved, f).device.type == "meta" for f in tensors)
    assert moved.texts == greedy.texts and moved.group_size == 3
    assert greedy.tasks == [TASK_A] * 3 + [TASK_B] * 3  # the batch carries its rows' tasks
    assert moved.tasks == greedy.tasks
