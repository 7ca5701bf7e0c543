"""Tests for the synthetic arithmetic tasks and the hash split."""

from __future__ import annotations

import ast
import operator
import re

import pytest

from lightning_paretopo.data.arith import TIERS, generate_arith
from lightning_paretopo.data.splits import split_of

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _evaluate(expr: str) -> int:
    """Reference evaluator for + - * and parentheses over integers (independent of the code)."""

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise AssertionError(f"unexpected node in {expr!r}: {ast.dump(node)}")

    return walk(ast.parse(expr, mode="eval"))


def _operands(expr: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", expr)]


def test_same_arguments_same_tasks_and_seed_changes_them():
    a = generate_arith(60, seed=7)
    assert a == generate_arith(60, seed=7)
    assert [t.prompt for t in a] != [t.prompt for t in generate_arith(60, seed=8)]


def test_pinned_first_tasks_seed0():
    # Pinned so that a change of generator (or of Python's RNG) is noticed.
    got = [(t.prompt, t.answer, t.meta["tier"]) for t in generate_arith(4, seed=0)]
    assert got == [
        ("What is 4*1?", "4", "easy"),
        ("What is 0+1?", "1", "easy"),
        ("What is (84+15)*59?", "5841", "hard"),
        ("What is 3-3?", "0", "easy"),
    ]
    hard = generate_arith(2, seed=0, tiers=("hard",))
    assert hard[0].meta["steps"] == [
        {"expr": "19+30", "value": 49},
        {"expr": "49*90", "value": 4410},
    ]
    assert hard[0].answer == "4410" and hard[0].meta["expression"] == "(19+30)*90"
    assert hard[1].meta["steps"] == [{"expr": "20*51", "value": 1020}]


def test_answers_and_steps_are_correct():
    for t in generate_arith(400, seed=1):
        expr, steps = t.meta["expression"], t.meta["steps"]
        assert t.kind == "arith" and t.tools == ("calculator",)
        assert t.prompt == f"What is {expr}?"
        assert int(t.answer) == _evaluate(expr)
        assert t.answer == str(steps[-1]["value"])
        for step in steps:
            assert _evaluate(step["expr"]) == step["value"]
        if len(steps) == 2:  # the second step uses the first result as a literal
            assert str(steps[0]["value"]) in steps[1]["expr"]
            assert steps[0]["expr"] in expr


def test_tier_definitions():
    for t in generate_arith(600, seed=2):
        expr, steps, tier = t.meta["expression"], t.meta["steps"], t.meta["tier"]
        ops = _operands(expr)
        if tier == "easy":
            assert len(steps) == 1 and max(ops) <= 9
            if "*" in expr:
                assert min(ops) >= 1 and max(ops) <= 5
        elif tier == "medium":
            assert len(steps) == 1
            if "*" in expr:
                assert min(ops) >= 2 and max(ops) <= 9
            else:
                assert all(10 <= x <= 99 for x in ops)
        else:
            assert tier == "hard"
            first = _operands(steps[0]["expr"])
            # every hard task multiplies two numbers with >= 2 digits somewhere
            mult_step = steps[0] if "*" in steps[0]["expr"] else steps[-1]
            assert all(x >= 10 for x in _operands(mult_step["expr"]))
            assert len(steps) in (1, 2) and all(x >= 10 for x in first)
        assert int(t.answer) >= 0


def test_all_tiers_appear_and_weights_select_tiers():
    tiers = {t.meta["tier"] for t in generate_arith(90, seed=3)}
    assert tiers == set(TIERS)
    only_hard = generate_arith(30, seed=3, tier_weights=(0, 0, 1))
    assert {t.meta["tier"] for t in only_hard} == {"hard"}
    only_easy = generate_arith(30, seed=3, tiers=("easy",))
    assert {t.meta["tier"] for t in only_easy} == {"easy"}


def test_splits_are_disjoint_and_labelled():
    exprs = {}
    for split in ("train", "val", "test"):
        tasks = generate_arith(300, seed=4, split=split)
        assert all(t.meta["split"] == split for t in tasks)
        assert all(split_of(t.meta["expression"]) == split for t in tasks)
        exprs[split] = {t.meta["expression"] for t in tasks}
    assert not exprs["train"] & exprs["val"]
    assert not exprs["train"] & exprs["test"]
    assert not exprs["val"] & exprs["test"]
    # the easy tier is tiny (180 expressions) but still reaches every split
    for split in ("val", "test"):
        assert generate_arith(5, seed=0, tiers=("easy",), split=split)


def test_split_of_is_a_pure_function_with_the_requested_proportions():
    assert split_of("23*17") == split_of("23*17")
    keys = [f"{a}+{b}" for a in range(100) for b in range(100)]
    counts = {s: sum(split_of(k) == s for k in keys) for s in ("train", "val", "test")}
    assert abs(counts["train"] / len(keys) - 0.8) < 0.02
    assert abs(counts["test"] / len(keys) - 0.1) < 0.02
    assert {split_of(k, (0.0, 0.0, 1.0)) for k in keys[:50]} == {"test"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": -1}, "n"),
        ({"n": 3, "tiers": ("trivial",)}, "tiers"),
        ({"n": 3, "tier_weights": (1, 2)}, "tier_weights"),
        ({"n": 3, "split": "dev"}, "split"),
        ({"n": 3, "split_fractions": (0.5, 0.5, 0.5)}, "split_fractions"),
        ({"n": 3, "split": "val", "split_fractions": (1.0, 0.0, 0.0)}, "split_fractions"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        generate_arith(**kwargs)
