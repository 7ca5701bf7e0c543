"""Tests for each reward head: pinned values on hand-built rows, argument checks, config."""

from __future__ import annotations

import pytest
from jsonargparse import ArgumentParser
from lightning.pytorch.cli import instantiate_class

from lightning_paretopo.rewards import Accuracy, Brevity, Format, RewardHead, ToolEfficiency
from lightning_paretopo.types import RolloutBatch, TaskExample, TurnSpan
from tests.rewards.conftest import ARITH, NAN, TASKS, assert_pinned, make_batch

# ------------------------------------------------------------------ each head, pinned


def test_accuracy_exact(batch: RolloutBatch) -> None:
    assert_pinned(Accuracy()(batch, TASKS), [1, 0, 1, 0, 1, 0, 0, 0])


def test_accuracy_f1_changes_only_qa_rows(batch: RolloutBatch) -> None:
    assert_pinned(Accuracy(mode="f1")(batch, TASKS), [1, 0, 1, 0, 1, 0, 2 / 3, 0])


def test_accuracy_math_kind_and_aliases() -> None:
    math_task = TaskExample("m-1", "math", "Half?", "\\frac{1}{2}")
    alias_task = TaskExample("k-2", "kbqa", "Alias?", ("New York City", "NYC"))
    rows = [
        {"text": "so \\boxed{0.5}", "turns": [TurnSpan(0, 3)]},  # boxed, numeric equality
        {"text": "<answer>nyc</answer>", "turns": [TurnSpan(0, 3)]},  # second alias
    ]
    values = Accuracy()(make_batch(rows, group_size=1), [math_task, alias_task])
    assert_pinned(values, [1, 1])


def test_tool_efficiency_budget_two(batch: RolloutBatch) -> None:
    # m = [1, 0, 1, 2, 3, 0, 0, 0]; 1 - min(m, 2) / 2; tool-less QA still applies (no calls -> 1)
    assert_pinned(ToolEfficiency(budget=2)(batch, TASKS), [0.5, 1, 0.5, 0, 0, 1, 1, 1])


def test_tool_efficiency_nan_without_tools(batch: RolloutBatch) -> None:
    head = ToolEfficiency(budget=4, nan_without_tools=True)
    assert_pinned(head(batch, TASKS), [0.75, 1, 0.75, 0.5, 0.25, 1, NAN, NAN])


def test_format(batch: RolloutBatch) -> None:
    # row 3: invalid call and truncated; row 7: no extractable answer
    assert_pinned(Format()(batch, TASKS), [1, 1, 1, 0, 1, 1, 1, 0])


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"text": "<answer>12</answer>", "turns": [TurnSpan(0, 2)]}, 1.0),
        ({"text": "<answer>12</answer>", "turns": [TurnSpan(0, 2)], "truncated": True}, 0.0),
        ({"text": "<answer>12</answer>", "turns": [TurnSpan(0, 2, "calculator", False)]}, 0.0),
        ({"text": "twelve", "turns": [TurnSpan(0, 2)]}, 0.0),
    ],
)
def test_format_each_condition_alone(row: dict, expected: float) -> None:
    assert_pinned(Format()(make_batch([row], group_size=1), [ARITH]), [expected])


def test_brevity(batch: RolloutBatch) -> None:
    # sampled tokens = [7, 2, 7, 4, 9, 12, 5, 6]; 1 - s / 10 clipped at 0
    assert_pinned(Brevity(max_tokens=10)(batch, TASKS), [0.3, 0.8, 0.3, 0.6, 0.1, 0.0, 0.5, 0.4])


def test_head_attributes() -> None:
    heads = [Accuracy(), ToolEfficiency(), Format(), Brevity(max_tokens=5)]
    assert [h.name for h in heads] == ["accuracy", "tool_efficiency", "format", "brevity"]
    assert [h.attribution for h in heads] == ["all", "tool_turns", "all", "all"]
    assert all((h.lo, h.hi) == (0.0, 1.0) for h in heads)
    # ALGORITHM.md S5: what a trajectory spends is gated by accuracy; a user's head chooses.
    assert [h.gated for h in heads] == [False, True, False, True]
    assert not Bounded(0.0, 1.0).gated and "gated=False" in repr(Bounded(0.0, 1.0))


# ------------------------------------------------------------------ errors


class Bounded(RewardHead):
    def __init__(self, lo: float, hi: float, attribution: str = "all", name: str = "b"):
        super().__init__(name, lo=lo, hi=hi, attribution=attribution)

    def compute(self, batch: RolloutBatch, tasks: list[TaskExample]) -> list[float]:
        return [0.0] * len(batch)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lo": 1.0, "hi": 1.0}, "bounds need finite lo < hi"),
        ({"lo": 1.0, "hi": 0.0}, "bounds need finite lo < hi"),
        ({"lo": NAN, "hi": 1.0}, "bounds need finite lo < hi"),
        ({"lo": 0.0, "hi": 1.0, "attribution": "tools"}, "attribution must be one of"),
        ({"lo": 0.0, "hi": 1.0, "name": "a/b"}, "name must be a non-empty string"),
        ({"lo": 0.0, "hi": 1.0, "name": ""}, "name must be a non-empty string"),
    ],
)
def test_bad_head_construction(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Bounded(**kwargs)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ToolEfficiency(budget=0), "budget must be an int >= 1"),
        (lambda: ToolEfficiency(budget=2.5), "budget must be an int >= 1"),
        (lambda: Brevity(max_tokens=0), "max_tokens must be an int >= 1"),
        (lambda: Accuracy(mode="fuzzy"), "mode must be one of"),
        (lambda: Accuracy(math_kinds=("qa",)), "must be disjoint"),
    ],
)
def test_bad_head_arguments(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_kind() -> None:
    task = TaskExample("x-1", "poetry", "Rhyme?", "moon")
    batch = make_batch([{"text": "<answer>moon</answer>", "turns": [TurnSpan(0, 2)]}], 1)
    with pytest.raises(ValueError, match=r"tasks\[0\].kind='poetry' is unknown"):
        Accuracy()(batch, [task])
    assert_pinned(Accuracy(qa_kinds=("poetry",))(batch, [task]), [1.0])


# ------------------------------------------------------------------ from config


def test_head_from_class_path_with_jsonargparse() -> None:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(RewardHead, "head")
    config = {
        "class_path": "lightning_paretopo.rewards.heads.ToolEfficiency",
        "init_args": {"budget": 3},
    }
    head = parser.instantiate(parser.parse_object({"head": config})).head
    assert isinstance(head, ToolEfficiency)
    assert (head.budget, head.name, head.attribution) == (3, "tool_efficiency", "tool_turns")


def test_head_from_class_path_with_instantiate_class(batch: RolloutBatch) -> None:
    config = {
        "class_path": "lightning_paretopo.rewards.heads.Brevity",
        "init_args": {"max_tokens": 10},
    }
    head = instantiate_class((), config)
    assert isinstance(head, Brevity)
    assert_pinned(head(batch, TASKS), [0.3, 0.8, 0.3, 0.6, 0.1, 0.0, 0.5, 0.4])
