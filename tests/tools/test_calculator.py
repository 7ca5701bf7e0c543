"""Calculator: pinned results, formatting, and every kind of rejection."""

import pytest

from lightning_paretopo.tools import Calculator, Tool
from lightning_paretopo.tools.calculator import format_number


@pytest.fixture(scope="module")
def calc() -> Calculator:
    return Calculator()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 3 * 4", "14"),  # precedence
        ("(2 + 3) * 4", "20"),  # parentheses
        ("2 + 3 * (4 - 1) ** 2", "29"),
        ("-2 ** 2", "-4"),  # ** binds tighter than unary minus
        ("(-2) ** 2", "4"),
        ("2 ** 3 ** 2", "512"),  # right associative
        ("--3", "3"),
        ("+-+4", "-4"),
        ("-7 // 2", "-4"),  # floor division rounds down
        ("-7 % 3", "2"),  # Python modulo takes the sign of the divisor: -7 = -3 * 3 + 2
        ("7 / 2", "3.5"),
        ("6 / 2", "3"),  # integral float shown as int
        ("1 / 3", "0.333333333333"),  # 12 significant digits
        ("0.1 + 0.2", "0.3"),
        ("2 ** -1", "0.5"),
        ("2 ** 0.5", "1.41421356237"),
        ("2.0 ** 60", "1.15292150461e+18"),  # integral but >= 1e15: scientific
        ("123456789 * 987654321", "121932631112635269"),
        ("10 ** 99", "1" + "0" * 99),  # exactly 100 digits: allowed
        ("1_000 + 1", "1001"),
        ("  12  ", "12"),
    ],
)
def test_pinned_results(calc: Calculator, expression: str, expected: str) -> None:
    result = calc(expression)
    assert result.ok, result.text
    assert result.text == expected
    assert result.error is None


@pytest.mark.parametrize(
    ("expression", "error", "fragment"),
    [
        ("1 / 0", "division_by_zero", "division by zero"),
        ("5 // 0", "division_by_zero", "division by zero"),
        ("5 % 0", "division_by_zero", "division by zero"),
        ("0 ** -1", "division_by_zero", "division by zero"),
        ("2 ** 1000", "too_large", "more than 100 digits"),
        ("9 ** 9 ** 9", "too_large", "exponent 387420489 exceeds"),
        ("10 ** 100", "too_large", "more than 100 digits"),
        ("10.0 ** 20000", "too_large", "exceeds 10000"),
        ("2 ** 5000.0", "overflow", "too large"),
        ("1e308 * 10", "overflow", "too large"),
        ("__import__('os')", "disallowed", "function calls are not allowed"),
        ("__import__('os').system('true')", "disallowed", "not allowed"),
        ("(1).__class__", "disallowed", "attribute access is not allowed"),
        ("x + 1", "disallowed", "names are not allowed"),
        ("2 ^ 3", "disallowed", "use ** for powers"),
        ("1 < 2", "disallowed", "Compare"),
        ("'a' * 3", "disallowed", "only numbers"),
        ("True + 1", "disallowed", "only numbers"),
        ("1j * 2", "disallowed", "only numbers"),
        ("[1, 2][0]", "disallowed", "not allowed"),
        ("lambda: 1", "disallowed", "not allowed"),
        ("(-8) ** (1 / 3)", "not_real", "not a real number"),
        ("2 +", "syntax", "cannot parse"),
        ("import os", "syntax", "cannot parse"),
        ("", "empty", "empty"),
        ("-" * 500 + "1", "too_large", "nested deeper"),
        ("1+" * 600 + "1", "too_large", "longer than 1000"),
    ],
)
def test_rejections(calc: Calculator, expression: str, error: str, fragment: str) -> None:
    result = calc(expression)
    assert not result.ok
    assert result.error == error
    assert result.text.startswith("Error: ")
    assert fragment in result.text


def test_is_a_tool_and_never_calls_eval() -> None:
    calc = Calculator()
    assert isinstance(calc, Tool)
    assert calc.name == "calculator"
    import inspect

    import lightning_paretopo.tools.calculator as module

    source = inspect.getsource(module)
    for banned in ("eval(", "exec(", "compile("):
        assert banned not in source.replace("_eval(", "").replace("literal_eval", "")


def test_bounds_are_configurable() -> None:
    small = Calculator(max_digits=5, max_exponent=3)
    assert small("99999 + 0").text == "99999"
    assert small("99999 + 1").error == "too_large"
    assert small("2 ** 4").error == "too_large"
    assert small("2 ** 3").text == "8"
    with pytest.raises(ValueError, match="max_digits"):
        Calculator(max_digits=0)


def test_format_number() -> None:
    assert format_number(3) == "3"
    assert format_number(3.0) == "3"
    assert format_number(-2.5) == "-2.5"
    assert format_number(1e20) == "1e+20"
    assert format_number(2 / 3) == "0.666666666667"
