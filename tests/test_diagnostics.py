"""``diagnostics``: the per-step signal shares and the all-zero-advantage warning, by hand."""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo import diagnostics
from lightning_paretopo.diagnostics import (
    ZeroAdvantageWatch,
    answer_formats,
    step_diagnostics,
    zero_advantage_groups,
)
from lightning_paretopo.types import RolloutBatch, TurnSpan


def batch(texts: list[str], tool_calls: list[int], group_size: int, sampled: int = 3):
    N, T = len(texts), 5
    action_mask = torch.zeros(N, T, dtype=torch.long)
    action_mask[:, 1 : 1 + sampled] = 1
    return RolloutBatch(
        input_ids=torch.zeros(N, T, dtype=torch.long),
        attention_mask=torch.ones(N, T, dtype=torch.long),
        action_mask=action_mask,
        prompt_lengths=torch.ones(N, dtype=torch.long),
        turns=[[TurnSpan(1, 1 + sampled)] for _ in texts],
        tool_calls=torch.tensor(tool_calls),
        invalid_calls=torch.zeros(N, dtype=torch.long),
        truncated=torch.zeros(N, dtype=torch.bool),
        texts=texts,
        group_size=group_size,
    )


def test_zero_advantage_groups_reads_sampled_tokens_only() -> None:
    mask = torch.tensor([[0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0]])
    a = torch.zeros(6, 3)
    a[0, 0] = 5.0  # a prompt token: not trained, does not count
    a[3, 2] = -0.5  # group 1 has one non-zero advantage
    a[4, 1] = 1.0  # group 2 samples nothing: no gradient, counts as zero
    assert zero_advantage_groups(a, mask, 2).tolist() == [True, False, True]


def test_step_diagnostics_shares() -> None:
    texts = [
        "<answer>4</answer>",  # tagged answer
        "so \\boxed{12}",  # boxed
        "#### 7",  # GSM8K style
        "I am not sure",  # no answer
    ]
    b = batch(texts, tool_calls=[0, 2, 0, 1], group_size=2)
    a = torch.zeros(4, 5)
    a[2, 2] = 0.3  # the second group has signal
    report = step_diagnostics(a, b)
    assert report == {
        "train/zero_advantage_groups": 0.5,
        "train/answered": 0.75,
        "train/called": 0.5,
    }


def test_answered_reads_answers_in_the_heads_formats(monkeypatch) -> None:
    class Head:
        def __init__(self, formats):
            self.answer_formats = formats

    heads = [object(), Head(None), Head(("gsm8k",)), Head(("boxed",))]
    assert answer_formats(heads) == ("gsm8k",) and answer_formats([object()]) is None
    seen = []
    monkeypatch.setattr(diagnostics, "extract_answer", lambda t, *f: seen.append(f) or t or None)
    b = batch(["#### 3", ""], tool_calls=[0, 0], group_size=2)
    report = step_diagnostics(torch.zeros(2, 5), b, ("gsm8k",))
    assert report["train/answered"] == 0.5 and seen == [(("gsm8k",),)] * 2


def report(all_zero: bool, called: float = 0.0, answered: float = 0.0) -> dict[str, float]:
    zero = 1.0 if all_zero else 0.5
    return {"train/zero_advantage_groups": zero, "train/called": called, "train/answered": answered}


def test_the_watch_warns_once_per_stretch_and_reports_each() -> None:
    watch = ZeroAdvantageWatch(patience=3)
    warnings = []
    for step, zero in enumerate([True, True, True, True, True, False, True, True, True]):
        warnings.append(watch.observe(step, report(zero, called=0.0, answered=0.25)))
    assert [i for i, w in enumerate(warnings) if w is not None] == [2, 8]
    assert "3 consecutive training steps" in warnings[2] and "global steps 0-2" in warnings[2]
    assert (
        "0% of the rows called a tool" in warnings[2] and "25% gave a parsed answer" in warnings[2]
    )
    for hint in ("tool schemas", "answer format", "learning rate"):
        assert hint in warnings[2]
    assert watch.stretches == [[0, 4, 5], [6, 8, 3]]
    summary = watch.report()
    assert summary.startswith("8 training steps with every advantage 0")
    assert "global steps 0-4, global steps 6-8" in summary


def test_the_watch_is_quiet_below_patience_and_resumes_its_count() -> None:
    watch = ZeroAdvantageWatch(patience=3)
    assert watch.observe(0, report(True)) is None and watch.observe(1, report(True)) is None
    assert watch.report() is None
    resumed = ZeroAdvantageWatch(patience=3)
    resumed.load_state_dict(watch.state_dict())
    assert resumed.observe(2, report(True)) is not None  # the third step in a row
    assert resumed.stretches == [[0, 2, 3]]


@pytest.mark.parametrize("patience", [0, -1, 1.5, True])
def test_the_watch_needs_a_positive_int(patience) -> None:
    with pytest.raises(ValueError, match="zero_advantage_patience"):
        ZeroAdvantageWatch(patience)
