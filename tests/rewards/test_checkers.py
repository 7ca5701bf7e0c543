"""Tests for answer extraction, math equivalence and SQuAD-style QA matching."""

from __future__ import annotations

import threading
import time

import pytest

from lightning_paretopo.rewards.checkers import (
    MAX_VERIFY_CHARS,
    extract_answer,
    last_boxed,
    math_equal,
    normalize_answer,
    qa_exact_match,
    qa_f1,
)

# ------------------------------------------------------------------ extract_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>12</answer> and later \\boxed{13}", "12"),  # the tag beats \boxed
        ("<answer>1</answer> then <answer> 2 </answer>", "2"),  # last tag
        ("<answer> </answer> so \\boxed{7}", "7"),  # empty tag: next rule
        ("so $\\boxed{\\frac{1}{\\sqrt{2}}}$.", "\\frac{1}{\\sqrt{2}}"),  # nested braces
        ("first \\boxed{3}, finally \\boxed{4}", "4"),
        ("good \\boxed{5} then truncated \\boxed{6", "5"),  # unbalanced last one skipped
        ("The answer is 3.5.", "3.5"),
        ("The final answer is: $42$", "42"),
        ("work\n#### 1,234\n", "1,234"),
        ("The answer is 1. Wait.\n#### 2", "2"),  # the later of the two phrases
        ("\\boxed{9}\nThe answer is 10", "9"),  # \boxed beats the phrase
        ("no answer here", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_answer_order(text, expected):
    assert extract_answer(text) == expected


def test_last_boxed_handles_fbox_and_spacing():
    assert last_boxed("\\fbox{x+1}") == "x+1"
    assert last_boxed("\\boxed {\\{1,2\\}}") == "\\{1,2\\}"
    assert last_boxed("nothing") is None


# ------------------------------------------------------------------ math_equal


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("1,234", "1234"),
        ("$18", "18"),
        ("\\$18.00", "18"),
        ("18 dollars", "18"),
        ("18 \\text{ dollars}", "18"),
        ("18%", "18"),
        ("18\\%", "18"),
        ("18.0", "18"),
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        ("\\dfrac{3}{4}", "0.75"),
        ("1/2", "\\frac{1}{2}"),
        ("-7", "-7.000"),
        ("0.333333", "1/3"),  # within 1e-6 relative
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),  # math-verify
        ("(x+1)^2", "x^2+2x+1"),  # math-verify, symbolic
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),  # math-verify
        ("90^\\circ", "90"),
        ("\\text{(B)}", "(B)"),  # string fallback
        # "\\" ends a matrix row: the escaped-space rule must not eat its second backslash
        (
            "\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}",
            "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\end{pmatrix}",
        ),
    ],
)
def test_math_equal_true(pred, gold):
    assert math_equal(pred, gold)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("17", "18"),
        ("0.18", "18%"),  # no percentage leniency (ToRA would accept it)
        ("0.05", "5"),
        ("1,2", "12"),  # a comma that is not a thousands separator
        ("2x", "2"),
        ("0.3333", "1/3"),  # outside 1e-6 relative
        ("(x+1)^2", "x^2+1"),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}"),
        (None, "3"),
        ("   ", "3"),
    ],
)
def test_math_equal_false(pred, gold):
    assert not math_equal(pred, gold)


def test_adversarial_input_is_cut_off_by_the_cpu_budget():
    assert math_equal("x+1", "1+x")  # imports math-verify (sympy) before the clock starts
    start = time.process_time()  # CPU seconds: what the budget counts
    assert not math_equal("10^{10^{10}}", "5", timeout_s=0.5)
    assert time.process_time() - start < 2.5  # hangs for minutes without the budget


def test_math_verify_skipped_off_main_thread_and_for_long_inputs():
    results = {}

    def run():
        results["symbolic"] = math_equal("(x+1)^2", "x^2+2x+1")  # needs math-verify
        results["numeric"] = math_equal("1,234", "1234")  # fast path, no math-verify

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert results == {"symbolic": False, "numeric": True}
    long_pred = "x+" * MAX_VERIFY_CHARS + "1"
    assert not math_equal(long_pred, "1+" + "x+" * MAX_VERIFY_CHARS)


def test_math_equal_rejects_bad_timeout():
    for bad in (0, -1.0, True):
        with pytest.raises(ValueError, match="timeout_s"):
            math_equal("1", "1", timeout_s=bad)


# ------------------------------------------------------------------ QA


def test_normalize_answer_squad():
    assert normalize_answer("  The Eiffel   Tower! ") == "eiffel tower"
    assert normalize_answer("An apple, a day") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a word


def test_qa_exact_match_over_aliases():
    assert qa_exact_match("the Eiffel tower.", ("Tour Eiffel", "Eiffel Tower"))
    assert qa_exact_match("James Madison", "james madison")
    assert not qa_exact_match("Madison", "James Madison")
    assert not qa_exact_match(None, "x")


def test_qa_f1_pinned_values():
    assert qa_f1("the big cat", "big dog") == pytest.approx(0.5)  # P = R = 1/2
    # pred [new, york, city] vs gold [new, york]: P = 2/3, R = 1 -> F1 = 0.8
    assert qa_f1("New York City", ("Boston", "New York")) == pytest.approx(0.8)
    assert qa_f1("Paris", "paris") == 1.0
    assert qa_f1("zzz", "paris") == 0.0
    assert qa_f1(None, "paris") == 0.0


def test_qa_requires_a_gold_alias():
    with pytest.raises(ValueError, match="golds"):
        qa_exact_match("x", ())
    with pytest.raises(ValueError, match="golds"):
        qa_f1("x", [])
