"""warmstart/evaluate.py scores with the reward heads only: the tier table is their verdict.

The engine is scripted (it returns hand-built rows for the tasks it is given), so every number
below is computed by hand from the texts and the heads' rules (``rewards/heads.py``).
"""

from __future__ import annotations

import math

import pytest
import torch

from lightning_paretopo.rewards import Accuracy, Format, RewardHeads, ToolEfficiency
from lightning_paretopo.types import TaskExample, TurnSpan
from lightning_paretopo.warmstart.evaluate import rollout_samples, score_batch, tier_table
from lightning_paretopo.warmstart.module import WarmStartModule
from tests.warmstart.conftest import ScriptedEngine, answer_row

Row = dict  # {text, turns, truncated}: the rows of tests.rewards.conftest.make_batch


def _samples(heads: RewardHeads, tasks: list[TaskExample], script, group_size: int = 1):
    engine = ScriptedEngine(script)
    return rollout_samples(None, None, tasks, engine, heads, batch_size=8, seed=0,
                           group_size=group_size)  # fmt: skip


# GSM8K, gold 42: the same answer written three ways, plus a cut-off "#### 42".
GSM8K_ROWS = {
    "g-is": answer_row("Six sevens. The answer is 42"),
    "g-hash": answer_row("6 * 7 = 42\n#### 42", calls=1),
    "g-tag": answer_row("<answer>42</answer>"),
    "g-cut": answer_row("#### 42", truncated=True),
}
GSM8K_TASKS = [
    TaskExample(id, "gsm8k", "6 times 7?", "42", ("calculator",), {"tier": tier})
    for id, tier in [("g-is", "easy"), ("g-hash", "hard"), ("g-tag", "easy"), ("g-cut", "hard")]
]


def _gsm8k_heads(formats: list[str] | None) -> RewardHeads:
    return RewardHeads([Accuracy(answer_formats=formats), ToolEfficiency(budget=4)])


def test_gsm8k_answer_formats_score_as_the_reward_heads_do() -> None:
    """Under ``Accuracy(answer_formats=[answer_is, gsm8k])`` "The answer is 42" and "#### 42" are
    right and well formed and the tag is not; under ``[answer_tag]`` the reverse. The cut-off
    row is right (the heads read its text) but not well formed (truncated)."""
    script = lambda task: [GSM8K_ROWS[task.id]]  # noqa: E731
    phrases = _samples(_gsm8k_heads(["answer_is", "gsm8k"]), GSM8K_TASKS, script)
    assert [(s.tier, s.calls, s.accuracy, s.well_formed) for s in phrases] == [
        ("easy", 0, 1.0, True),
        ("hard", 1, 1.0, True),
        ("easy", 0, 0.0, False),
        ("hard", 0, 1.0, False),
    ]
    table = tier_table(phrases)
    easy = dict(table["easy"])
    assert math.isnan(easy.pop("acc_tool"))  # no easy sample called a tool
    assert easy == {
        "n": 2.0, "acc_no_tool": 0.5, "frac_tool": 0.0, "mean_calls": 0.0, "well_formed": 0.5,
        "accuracy": 0.5,
    }  # fmt: skip
    assert table["hard"]["acc_tool"] == 1.0 and table["hard"]["acc_no_tool"] == 1.0
    assert table["all"]["accuracy"] == 0.75 and table["all"]["well_formed"] == 0.5

    tag = tier_table(_samples(_gsm8k_heads(["answer_tag"]), GSM8K_TASKS, script))
    assert tag["all"]["accuracy"] == 0.25 and tag["all"]["well_formed"] == 0.25
    assert tag["easy"]["accuracy"] == 0.5 and tag["hard"]["accuracy"] == 0.0


def test_the_tier_table_is_the_mean_of_the_heads_own_accuracy_column() -> None:
    """The same batch scored by ``RewardHeads`` directly: the table's accuracy is its mean."""
    heads = _gsm8k_heads(["gsm8k"])
    batch = ScriptedEngine(lambda t: [GSM8K_ROWS[t.id]]).generate(None, None, GSM8K_TASKS, 1, None)
    R_raw, _ = heads(batch)  # [N, K]
    accuracy, formed = score_batch(heads, batch)
    torch.testing.assert_close(accuracy, R_raw[:, 0])
    assert accuracy.tolist() == [0.0, 1.0, 0.0, 1.0] and formed.tolist() == [0, 1, 0, 0]
    table = tier_table(_samples(heads, GSM8K_TASKS, lambda t: [GSM8K_ROWS[t.id]]))
    assert table["all"]["accuracy"] == float(R_raw[:, 0].mean()) == 0.5


def test_qa_in_f1_mode_averages_the_raw_f1() -> None:
    """QA gold ("Barack Obama", "Obama"): "President Obama" has F1 2/3 (against "Obama":
    precision 1/2, recall 1), "Obama" 1; exact mode gives 0 and 1."""
    task = TaskExample("q", "qa", "Who?", ("Barack Obama", "Obama"), ("search",), {"tier": "t"})

    def script(task: TaskExample) -> list[Row]:
        searched = {
            "text": "<answer>President Obama</answer>",
            "turns": [TurnSpan(0, 2, "search"), TurnSpan(10, 12)],
        }
        return [searched, answer_row("<answer>Obama</answer>")]

    f1 = RewardHeads([Accuracy(mode="f1"), ToolEfficiency()])
    samples = _samples(f1, [task], script, group_size=2)
    assert [s.accuracy for s in samples] == pytest.approx([2 / 3, 1.0])
    row = tier_table(samples)["t"]
    assert row["acc_tool"] == pytest.approx(2 / 3) and row["acc_no_tool"] == 1.0
    assert row["accuracy"] == pytest.approx(5 / 6) and row["well_formed"] == 1.0
    exact = tier_table(_samples(RewardHeads([Accuracy()]), [task], script, group_size=2))
    assert exact["t"]["acc_tool"] == 0.0 and exact["t"]["accuracy"] == 0.5


class NeverFormed(Format):
    """A user's stricter format head: nothing is well formed."""

    def compute(self, batch, tasks):
        return [0.0] * len(batch)


def test_well_formed_is_the_sets_format_head_when_it_has_one() -> None:
    script = lambda task: [GSM8K_ROWS[task.id]]  # noqa: E731
    own = RewardHeads([Accuracy(answer_formats=["gsm8k"]), NeverFormed(name="strict")])
    assert [s.well_formed for s in _samples(own, GSM8K_TASKS, script)] == [False] * 4
    built = RewardHeads([Accuracy(answer_formats=["gsm8k"])])  # Format reads "####" too
    assert [s.well_formed for s in _samples(built, GSM8K_TASKS, script)] == [0, 1, 0, 0]


def test_heads_without_accuracy_are_refused_naming_the_field() -> None:
    heads = RewardHeads([ToolEfficiency(), Format()])
    engine = ScriptedEngine(lambda task: [GSM8K_ROWS[task.id]])
    with pytest.raises(ValueError, match="objectives: .*'accuracy'.*tool_efficiency"):
        rollout_samples(None, None, GSM8K_TASKS, engine, heads, batch_size=4, seed=0)
    assert engine.calls == 0  # refused before any rollout
    with pytest.raises(ValueError, match="objectives: .*'accuracy'"):
        WarmStartModule(objectives=heads)


def test_the_warm_start_scores_with_accuracy_and_tool_efficiency_by_default() -> None:
    module = WarmStartModule(tiny_config={"hidden_size": 16, "num_hidden_layers": 1,
                                          "intermediate_size": 32})  # fmt: skip
    assert module.objectives.names == ["accuracy", "tool_efficiency"]
    assert module.objectives.heads[1].budget == 4
    assert "objectives" not in module.hparams  # instances stay out of the hparams
