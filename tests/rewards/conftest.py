"""Hand-built rollout batches for the reward-head tests (4 groups of G = 2 rows, T = 12)."""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.types import RolloutBatch, TaskExample, TurnSpan

NAN = float("nan")
T = 12  # padded length of every hand-built row


def make_batch(rows: list[dict], group_size: int) -> RolloutBatch:
    """A batch from rows {text, turns, truncated}; counts and masks derive from the turns."""
    N = len(rows)
    action_mask = torch.zeros(N, T, dtype=torch.long)
    for n, row in enumerate(rows):
        for span in row["turns"]:
            action_mask[n, span.start : span.end] = 1
    return RolloutBatch(
        input_ids=torch.zeros(N, T, dtype=torch.long),
        attention_mask=torch.ones(N, T, dtype=torch.long),
        action_mask=action_mask,
        prompt_lengths=torch.zeros(N, dtype=torch.long),
        turns=[row["turns"] for row in rows],
        tool_calls=torch.tensor([sum(s.called_tool for s in r["turns"]) for r in rows]),
        invalid_calls=torch.tensor([sum(not s.valid for s in r["turns"]) for r in rows]),
        truncated=torch.tensor([r.get("truncated", False) for r in rows]),
        texts=[row["text"] for row in rows],
        group_size=group_size,
    )


ARITH = TaskExample("a-1", "arith", "What is 3*4?", "12", ("calculator",))
KBQA = TaskExample("k-1", "kbqa", "Capital of France?", "Paris", ("search",))
GSM8K = TaskExample("g-1", "gsm8k", "How many?", "1234", ("python",))
QA = TaskExample("q-1", "qa", "Who was president?", ("Barack Obama", "Obama"))  # no tools
TASKS = [ARITH, ARITH, KBQA, KBQA, GSM8K, GSM8K, QA, QA]  # each task repeated G = 2 times

ROWS = [
    # 0 arith, correct after one calculator call; 7 sampled tokens
    {
        "text": "<calc>3*4</calc><result>12</result><answer>12</answer>",
        "turns": [TurnSpan(0, 4, "calculator"), TurnSpan(6, 9)],
    },
    # 1 arith, wrong, no call; 2 sampled tokens
    {"text": "<answer>13</answer>", "turns": [TurnSpan(0, 2)]},
    # 2 kbqa, "the Paris" matches "Paris" after normalisation; one search; 7 tokens
    {
        "text": "<search>capital France</search><information>Paris</information>"
        "<answer>the Paris</answer>",
        "turns": [TurnSpan(0, 3, "search"), TurnSpan(8, 12)],
    },
    # 3 kbqa, an invalid then a valid search, cut by the budget without an answer; 4 tokens
    {
        "text": "<search></search><result>error: empty</result><search>France</search>",
        "turns": [TurnSpan(0, 2, None, valid=False), TurnSpan(4, 6, "search")],
        "truncated": True,
    },
    # 4 gsm8k, "$1,234" equals 1234; three python calls (over a budget of 2); 9 tokens
    {
        "text": "<python>a</python><python>b</python><python>c</python><answer>$1,234</answer>",
        "turns": [TurnSpan(0, 2, "python"), TurnSpan(3, 5, "python")]
        + [TurnSpan(6, 8, "python"), TurnSpan(9, 12)],
    },
    # 5 gsm8k, wrong, no call, 12 sampled tokens (beyond max_tokens = 10)
    {"text": "<answer>1234.5</answer>", "turns": [TurnSpan(0, 12)]},
    # 6 qa, "President Obama": no exact match, F1 2/3 against "Obama"; 5 tokens
    {"text": "<answer>President Obama</answer>", "turns": [TurnSpan(0, 5)]},
    # 7 qa, no extractable answer (but not truncated, no invalid call); 6 tokens
    {"text": "I think it's Obama.", "turns": [TurnSpan(0, 6)]},
]


@pytest.fixture
def batch() -> RolloutBatch:
    return make_batch(ROWS, group_size=2)


def assert_pinned(actual: torch.Tensor, expected: list[float]) -> None:
    assert actual.dtype == torch.float64
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=torch.float64), equal_nan=True)
