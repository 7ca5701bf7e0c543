"""``Calculator``: the "calculator" tool. Evaluates arithmetic by walking a whitelisted AST.

Contract: ``Calculator()(expression) -> ToolResult`` never raises. Accepted: int and float
literals, binary ``+ - * / // % **``, unary ``-``/``+``, parentheses. Everything else (names,
calls, attributes, subscripts, comparisons, ``^``, strings, booleans, complex numbers) is
rejected with ``error="disallowed"`` (or ``"syntax"`` when it does not parse). Bounds: the input
length, the digits of every integer operand and result (``max_digits``), the exponent's size
(``max_exponent``, and an integer power is refused before it is computed when its result would
exceed ``max_digits``), the nesting depth, and a wall-clock budget checked at every node.

Result formatting: integers as integers; a float with an integral value below 1e15 in magnitude
as an integer (``6/2 -> 3``); any other float with 12 significant digits via ``format(x,
".12g")`` (``1/3 -> 0.333333333333``, ``0.1+0.2 -> 0.3``, ``2.0**60 -> 1.15292150461e+18``).

Deliberately not done: ``eval``/``exec``/``compile`` (only ``ast.parse``), math functions,
variables, exact rationals.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable

from lightning_paretopo.tools.base import ToolResult

_BINARY: dict[type[ast.operator], Callable[[object, object], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOLS = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<",
            ast.RShift: ">>", ast.MatMult: "@"}  # fmt: skip


class CalcError(Exception):
    """A rejected or failed expression; ``kind`` becomes ``ToolResult.error``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Calculator:
    """Safe arithmetic: ``Calculator()("2 + 3 * (4 - 1) ** 2")`` -> ``ToolResult(ok, "29")``."""

    name = "calculator"
    inline = True  # pure Python, bounded by timeout_s: run in the caller's thread (concurrency.py)

    def __init__(
        self,
        max_digits: int = 100,
        max_exponent: int = 10_000,
        max_chars: int = 1000,
        max_depth: int = 100,
        timeout_s: float = 1.0,
    ) -> None:
        """Create a calculator.

        Args:
            max_digits: most decimal digits of any integer operand or result.
            max_exponent: largest ``|exponent|`` in ``a ** b``.
            max_chars: longest accepted expression.
            max_depth: deepest accepted nesting of operators and parentheses.
            timeout_s: wall-clock budget for one evaluation.
        """
        for field, value in [("max_digits", max_digits), ("max_exponent", max_exponent),
                             ("max_chars", max_chars), ("max_depth", max_depth),
                             ("timeout_s", timeout_s)]:  # fmt: skip
            if not value > 0:
                raise ValueError(f"{field}={value!r}: must be > 0")
        self.max_digits = max_digits
        self.max_exponent = max_exponent
        self.max_chars = max_chars
        self.max_depth = max_depth
        self.timeout_s = timeout_s

    def __call__(self, text: str) -> ToolResult:
        """Evaluate ``text``; ``ok=False`` with an ``Error: ...`` text on any failure."""
        start = time.monotonic()
        try:
            value = self.evaluate(text)
            return ToolResult(ok=True, text=format_number(value), latency_s=_since(start))
        except CalcError as exc:
            return ToolResult(
                ok=False, text=f"Error: {exc}", error=exc.kind, latency_s=_since(start)
            )

    def evaluate(self, text: str) -> int | float:
        """Parse and evaluate ``text``. Raises ``CalcError`` (never anything else)."""
        expression = text.strip()
        if not expression:
            raise CalcError("empty", "empty expression")
        if len(expression) > self.max_chars:
            raise CalcError("too_large", f"expression longer than {self.max_chars} characters")
        try:
            tree = ast.parse(expression, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            hint = "; use ** for powers" if "^" in expression else ""
            shown = expression if len(expression) <= 60 else expression[:57] + "..."
            raise CalcError("syntax", f"cannot parse {shown!r}{hint}") from exc
        deadline = time.monotonic() + self.timeout_s
        try:
            return self._eval(tree.body, deadline, depth=0)
        except ZeroDivisionError as exc:
            raise CalcError("division_by_zero", "division by zero") from exc
        except (OverflowError, MemoryError) as exc:
            raise CalcError("overflow", "result too large") from exc
        except RecursionError as exc:
            raise CalcError("too_large", "expression nested too deeply") from exc

    def _eval(self, node: ast.AST, deadline: float, depth: int) -> int | float:
        if time.monotonic() > deadline:
            raise CalcError("timeout", f"evaluation exceeded {self.timeout_s:g} s")
        if depth > self.max_depth:
            raise CalcError("too_large", f"expression nested deeper than {self.max_depth}")
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float):  # bool is an int subclass: rejected here
                raise CalcError("disallowed", f"only numbers are allowed, got {value!r}")
            return self._check(value)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return self._check(_UNARY[type(node.op)](self._eval(node.operand, deadline, depth + 1)))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left = self._eval(node.left, deadline, depth + 1)
            right = self._eval(node.right, deadline, depth + 1)
            if isinstance(node.op, ast.Pow):
                self._check_power(left, right)
            return self._check(_BINARY[type(node.op)](left, right))
        raise CalcError("disallowed", _describe_disallowed(node))

    def _check_power(self, base: int | float, exponent: int | float) -> None:
        """Refuse ``base ** exponent`` before computing it when it would be too large."""
        if abs(exponent) > self.max_exponent:
            raise CalcError("too_large", f"exponent {exponent!r} exceeds {self.max_exponent}")
        if base == 0 and exponent < 0:
            raise ZeroDivisionError
        ints = isinstance(base, int) and isinstance(exponent, int)
        digits = exponent * math.log10(abs(base)) if ints and exponent > 0 and base != 0 else 0
        if digits > self.max_digits + 1:
            raise CalcError("too_large", f"result has more than {self.max_digits} digits")

    def _check(self, value: object) -> int | float:
        """Reject complex results, non-finite floats and integers longer than ``max_digits``."""
        if isinstance(value, complex):
            raise CalcError("not_real", "result is not a real number")
        if isinstance(value, float) and not math.isfinite(value):
            raise OverflowError
        # bit_length first, so a huge int is never converted to a string
        if isinstance(value, int) and (
            value.bit_length() > 4 * self.max_digits or len(str(abs(value))) > self.max_digits
        ):
            raise CalcError("too_large", f"number has more than {self.max_digits} digits")
        return value  # type: ignore[return-value]


def format_number(value: int | float) -> str:
    """Integers as is; integral floats below 1e15 as integers; other floats to 12 sig. digits."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".12g")


def _describe_disallowed(node: ast.AST) -> str:
    op = getattr(node, "op", None)
    if op is not None and type(op) in _SYMBOLS:
        hint = "; use ** for powers" if isinstance(op, ast.BitXor) else ""
        return f"operator {_SYMBOLS[type(op)]!r} is not allowed{hint}"
    if isinstance(node, ast.Call):
        return "function calls are not allowed"
    if isinstance(node, ast.Attribute):
        return "attribute access is not allowed"
    if isinstance(node, ast.Name):
        return f"names are not allowed ({node.id!r}); only numbers and + - * / // % **"
    return f"{type(node).__name__} is not allowed; only numbers and + - * / // % **"


def _since(start: float) -> float:
    return time.monotonic() - start
