"""Score ToRA-Code-34B's saved GSM8K completions with this project's extractor and checker.

ToRA reports 80.7% for these 1319 completions (its ``.metrics`` file: "Mean score: [80.7]").
The saved records carry ``code`` (the completion, a one-item list), ``pred`` (ToRA's own
extracted answer) and ``gt``, but no per-item score, so ToRA's verdict is rebuilt here from its
published grading rule for numbers: pred and gt both parse as floats (commas removed) and pred
is within rel_tol 1e-4 of gt/100, gt or gt*100; otherwise the stripped strings must be equal.

Our verdict: ``math_equal(extract_answer(completion), gt)``. Every item where the two verdicts
differ is printed with the reason.

``--math-verify-only`` replaces ``math_equal`` by a bare ``math_verify.verify`` on the
``\\boxed{}``-wrapped extracted answer and gt (1 s timeouts), to show what the numeric fast path adds.

Usage:
    PYTHONPATH=. .venv/bin/python benchmarks/tora_gsm8k.py [--path FILE] [--json OUT]
        [--math-verify-only]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightning_paretopo.rewards.checkers import extract_answer, math_equal

DEFAULT_PATH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "trajectories"
    / "tora_code_34b_gsm8k_test_python.jsonl"
)
TORA_REPORTED = 80.7


def _float(s: str) -> float | None:
    try:
        return float(str(s).replace(",", ""))
    except ValueError:
        return None


def tora_verdict(pred: str, gt: str) -> bool:
    """ToRA's verdict for a numeric GSM8K item, rebuilt from its grading rule (see above)."""
    p, g = _float(pred), _float(gt)
    if p is not None and g is not None:
        return any(math.isclose(ref, p, rel_tol=1e-4) for ref in (g / 100, g, g * 100))
    return str(pred).strip() == str(gt).strip()


def _reason(extracted: str | None, their_pred: str, gt: str, ours: bool) -> str:
    if extracted is None:
        return (
            "no \\boxed{}, <answer> or 'The answer is' in the completion; ToRA's pred "
            f"{their_pred!r} comes from the last program output"
        )
    if not ours and "%" in extracted:
        return f"extracted {extracted!r} carries a percent sign, read as x/100 by this checker"
    p, g = _float(their_pred), _float(gt)
    if not ours and p is not None and g is not None and not math.isclose(p, g, rel_tol=1e-4):
        return f"ToRA's percentage leniency: pred {their_pred} equals gt/100 or gt*100 (gt {gt})"
    return f"extracted {extracted!r} vs ToRA pred {their_pred!r} (gt {gt})"


def math_verify_only(pred: str | None, gold: str) -> bool:
    """A bare math-verify verdict (no numeric fast path, no string fallback)."""
    from math_verify import parse, verify

    if pred is None:
        return False
    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=1)
    pred_parsed = parse(f"\\boxed{{{pred}}}", parsing_timeout=1)
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=1))


def score(
    records: list[dict[str, Any]], checker: Callable[[str | None, str], bool] = math_equal
) -> dict[str, Any]:
    """Accuracy under ``checker`` (default: ours), ToRA's rebuilt accuracy, every disagreement."""
    correct = tora_correct = 0
    disagreements = []
    for r in records:
        completion, their_pred, gt = r["code"][0], r["pred"][0], str(r["gt"])
        extracted = extract_answer(completion)
        ours = checker(extracted, gt)
        theirs = tora_verdict(their_pred, gt)
        correct += ours
        tora_correct += theirs
        if ours != theirs:
            disagreements.append(
                {
                    "idx": r["idx"],
                    "ours": ours,
                    "tora": theirs,
                    "extracted": extracted,
                    "tora_pred": their_pred,
                    "gt": gt,
                    "reason": _reason(extracted, their_pred, gt, ours),
                }
            )
    n = len(records)
    return {
        "n": n,
        "correct": correct,
        "accuracy": 100.0 * correct / n if n else float("nan"),
        "tora_rebuilt_accuracy": 100.0 * tora_correct / n if n else float("nan"),
        "tora_reported_accuracy": TORA_REPORTED,
        "disagreements": disagreements,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="ToRA jsonl file")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument(
        "--math-verify-only", action="store_true", help="use bare math-verify as the checker"
    )
    args = parser.parse_args()
    with args.path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    start = time.perf_counter()
    result = score(records, math_verify_only if args.math_verify_only else math_equal)
    result["seconds"] = time.perf_counter() - start
    checker = "bare math-verify" if args.math_verify_only else "ours"
    print(
        f"{checker}: {result['correct']}/{result['n']} = {result['accuracy']:.2f}%  "
        f"(ToRA reported {TORA_REPORTED}%, rebuilt {result['tora_rebuilt_accuracy']:.2f}%; "
        f"diff {result['accuracy'] - TORA_REPORTED:+.2f} points)  "
        f"scored in {result['seconds']:.2f} s"
    )
    print(f"disagreements: {len(result['disagreements'])}")
    print("| idx | ours | ToRA | extracted | ToRA pred | gt | reason |")
    print("|---|---|---|---|---|---|---|")
    for d in result["disagreements"]:
        print(
            f"| {d['idx']} | {d['ours']} | {d['tora']} | {d['extracted']} | "
            f"{d['tora_pred']} | {d['gt']} | {d['reason']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
