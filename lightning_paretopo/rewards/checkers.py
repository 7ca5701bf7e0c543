"""Answer checkers: extract a final answer from a completion, and compare it with the gold.

Contract:
    ``extract_answer(text, formats=ANSWER_FORMATS)`` reads the final answer in the enabled
    ``formats`` (a subset of ``ANSWER_FORMATS``; which ones a task uses is a reward-head setting,
    ``Accuracy(answer_formats=...)``), in this fixed order of precedence:
        1. "answer_tag": the last ``<answer>...</answer>`` block (its stripped content; empty ->
           next rule);
        2. "boxed": the last *balanced* ``\\boxed{...}`` (nested braces allowed; a truncated one
           is skipped);
        3. the last of the enabled phrases, "answer_is": "The (final) answer is X" (an optional
           colon after it) and "gsm8k": GSM8K's "#### X" (X runs to the end of its line or to
           an end-of-turn marker such as ``<|im_end|>`` or ``</s>``, which chat models' texts
           carry; a trailing full stop and surrounding ``$`` are removed);
    and returns None when none is present. All four (the default) is the behaviour before
    formats were configurable. An unknown or empty ``formats`` raises ValueError.

    ``math_equal(pred, gold)`` decides numeric/symbolic equivalence in three steps:
        1. numeric fast path: both sides parse as plain numbers after stripping ``\\boxed{}``,
           ``$``/``\\$``, ``%``/``\\%``, ``\\text{...}`` units and trailing unit words, and
           thousands commas (only in the ``d{1,3}(,ddd)+`` pattern); ``\\frac{a}{b}`` and ``a/b``
           with integer parts count as numbers. Equal iff ``|p - g| <= 1e-6 * max(1, |g|)``.
           A percent sign is dropped, not divided: "18%" equals "18" (it does NOT equal "0.18").
        2. string check: the stripped strings, lower-cased and without spaces, are equal.
        3. otherwise math-verify (``math_verify.parse`` / ``verify``) on both stripped sides
           wrapped in ``\\boxed{}``, within a budget of ``timeout_s`` CPU seconds (default 3)
           for the whole comparison: ``symbolic.symbolic_equal``. The budget is CPU time, not
           wall-clock time, so the verdict does not depend on machine load; math-verify's own
           wall-clock timeouts are off. A comparison that exhausts the budget, one skipped off
           the main thread, and one where either side is longer than ``MAX_VERIFY_CHARS``
           score False; exhausted budgets are counted (``symbolic.timeout_count``).

    QA: ``normalize_answer`` is SQuAD's normalisation (lower-case, drop punctuation, drop the
    articles a/an/the, collapse whitespace); ``qa_exact_match`` and ``qa_f1`` take the max over
    the gold aliases.

Deliberately not done: ToRA's "percentage" leniency (accepting gold/100 and gold*100), units
conversion, and answer extraction from program output blocks (a completion whose final answer
is only inside a ```output block is treated as having no answer).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from lightning_paretopo.rewards.symbolic import (
    DEFAULT_CPU_BUDGET_S,
    MAX_VERIFY_CHARS,
    symbolic_equal,
)

ANSWER_FORMATS: tuple[str, ...] = ("answer_tag", "boxed", "answer_is", "gsm8k")
"""The final-answer formats ``extract_answer`` reads, in its order of precedence."""

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_PHRASES = {"answer_is": r"[Tt]he (?:final )?answer is\s*:?", "gsm8k": r"####"}
# End-of-turn markers that chat models' decoded texts carry (ChatML <|im_end|>, Llama 3
# <|eot_id|>, Phi <|end|>, Llama 2 </s>, Gemma <end_of_turn> / <eos>): a phrase's answer stops there.
_TURN_END = r"<\|[A-Za-z_]+\|>|</s>|<eos>|<end_of_turn>"


def _balanced_from(text: str, open_idx: int) -> str | None:
    """Content of the brace group whose ``{`` is at ``open_idx``, or None if unbalanced."""
    depth = 0
    for i in range(open_idx, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1 : i]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last balanced ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``."""
    for match in reversed(list(_BOXED.finditer(text))):
        content = _balanced_from(text, match.end() - 1)
        if content is not None:
            return content.strip()
    return None


def _clean_answer_phrase(phrase: str) -> str | None:
    phrase = phrase.strip().rstrip(".").strip()
    if phrase.startswith("$") and phrase.endswith("$") and len(phrase) > 1:
        phrase = phrase.strip("$").strip()
    return phrase or None


def check_answer_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """``formats`` as a tuple, after checking it is a non-empty subset of ``ANSWER_FORMATS``."""
    if isinstance(formats, str):
        formats = (formats,)
    unknown = sorted(set(formats) - set(ANSWER_FORMATS))
    if unknown or not formats:
        raise ValueError(
            f"answer_formats must be a non-empty list of {list(ANSWER_FORMATS)}, got "
            f"{list(formats)}" + (f" (unknown: {unknown})" if unknown else "")
        )
    return tuple(formats)


@lru_cache(maxsize=4)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """The enabled answer phrases, then the rest of their line (group 1)."""
    rest_of_line = rf"((?:(?!{_TURN_END})[^\n])*)"
    return re.compile(r"(?:" + "|".join(_PHRASES[p] for p in phrases) + r")[ \t]*" + rest_of_line)


def extract_answer(text: str | None, formats: Sequence[str] = ANSWER_FORMATS) -> str | None:
    """The final answer of a completion in one of ``formats``, or None (module docstring)."""
    formats = check_answer_formats(formats)
    if not text:
        return None
    if "answer_tag" in formats:
        tags = _ANSWER_TAG.findall(text)
        if tags and tags[-1].strip():
            return tags[-1].strip()
    if "boxed" in formats:
        boxed = last_boxed(text)
        if boxed:
            return boxed
    phrases = tuple(p for p in _PHRASES if p in formats)
    found = _phrase_pattern(phrases).findall(text) if phrases else []
    return _clean_answer_phrase(found[-1]) if found else None


# ---------------------------------------------------------------------------- math_equal

_UNIT_WORDS = re.compile(r"(?:\s+[a-zA-Z][a-zA-Z.]*)+$")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_FRACTION = re.compile(r"^([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{([-+]?\d+)\}$")
_DROP = re.compile(
    r"(?<!\\)(?:\\left|\\right|\\[!,;:$%])"  # not after a backslash: "\\" ends a matrix row
    r"|\^\\circ|\^\{\\circ\}|[%$]"
)
_ESCAPED_SPACE = re.compile(r"(?<!\\)\\ ")
_MAX_EXPONENT = 400
_SLASH = re.compile(r"^([-+]?\d+)\s*/\s*([-+]?\d+)$")


def _strip_wrappers(s: str) -> str:
    """Remove \\boxed, math delimiters, spacing commands, \\left/\\right, currency and percent."""
    s = s.strip()
    inner = last_boxed(s)
    if inner is not None:
        s = inner
    s = _TEXT_CMD.sub(r" \1", s)
    s = _ESCAPED_SPACE.sub(" ", _DROP.sub("", s))
    return s.strip().rstrip(".").strip()


def _to_number(s: str) -> Fraction | None:
    """A plain number (with thousands commas, units or a simple fraction), else None."""
    s = _strip_wrappers(s)
    if not s:
        return None
    if not _PLAIN_NUMBER.match(s) and not _THOUSANDS.match(s):
        s = _UNIT_WORDS.sub("", s).strip()  # "18 dollars" -> "18"
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    s = s.replace(" ", "")
    if _PLAIN_NUMBER.match(s):
        exponent = s.lower().partition("e")[2]
        if exponent and abs(int(exponent)) > _MAX_EXPONENT:
            return None  # leave huge powers to the guarded symbolic path
        return Fraction(s)
    frac = _FRACTION.match(s)
    parts = (frac.group(1) + frac.group(2), frac.group(3)) if frac else None
    slash = _SLASH.match(s)
    parts = parts or ((slash.group(1), slash.group(2)) if slash else None)
    if parts and int(parts[1]) != 0:
        return Fraction(int(parts[0]), int(parts[1]))
    return None


def _numbers_equal(p: Fraction, g: Fraction) -> bool:
    return p == g or abs(p - g) <= Fraction(1, 10**6) * max(1, abs(g))


def _canonical_string(s: str) -> str:
    return re.sub(r"\s+", "", _strip_wrappers(s)).lower()


def math_equal(pred: str | None, gold: str, timeout_s: float = DEFAULT_CPU_BUDGET_S) -> bool:
    """True when ``pred`` is numerically or symbolically equal to ``gold``.

    Args:
        pred: the extracted prediction (may still carry ``\\boxed{}``, units, ``$``); None is wrong.
        gold: the gold answer.
        timeout_s: CPU seconds (not wall-clock) math-verify may spend on the comparison (> 0).
    """
    if isinstance(timeout_s, bool) or not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 CPU seconds, got {timeout_s!r}")
    if pred is None or not str(pred).strip():
        return False
    pred, gold = str(pred), str(gold)
    p_num, g_num = _to_number(pred), _to_number(gold)
    if p_num is not None and g_num is not None:
        return _numbers_equal(p_num, g_num)
    if _canonical_string(pred) == _canonical_string(gold):
        return True
    return bool(symbolic_equal(_strip_wrappers(pred), _strip_wrappers(gold), timeout_s))


def is_number_string(s: str) -> bool:
    """True when ``s`` reads as a plain number under ``math_equal``'s numeric fast path."""
    return _to_number(s) is not None


# ---------------------------------------------------------------------------- QA (SQuAD)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower-case, drop punctuation and articles, collapse whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _as_aliases(golds: str | Sequence[str]) -> list[str]:
    aliases = [golds] if isinstance(golds, str) else list(golds)
    if not aliases:
        raise ValueError("golds must hold at least one gold answer alias, got an empty sequence")
    return aliases


def qa_exact_match(pred: str | None, golds: str | Sequence[str]) -> bool:
    """True when the normalised prediction equals any normalised gold alias."""
    aliases = _as_aliases(golds)
    if pred is None:
        return False
    norm = normalize_answer(pred)
    return any(norm == normalize_answer(g) for g in aliases)


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def qa_f1(pred: str | None, golds: str | Sequence[str]) -> float:
    """SQuAD token F1 between the prediction and the best-matching gold alias (0.0 for None)."""
    aliases = _as_aliases(golds)
    if pred is None:
        return 0.0
    pred_tokens = normalize_answer(pred).split()
    return max(_f1(pred_tokens, normalize_answer(g).split()) for g in aliases)


__all__ = [
    "ANSWER_FORMATS",
    "DEFAULT_CPU_BUDGET_S",
    "MAX_VERIFY_CHARS",
    "check_answer_formats",
    "extract_answer",
    "is_number_string",
    "last_boxed",
    "math_equal",
    "normalize_answer",
    "qa_exact_match",
    "qa_f1",
]
