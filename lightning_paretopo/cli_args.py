"""Command-line rewrites applied before LightningCLI parses the arguments.

Contract: ``nested_nulls_as_dicts(args, options)`` returns ``args`` with every null given two or
more levels below a class option rewritten as a one-level dict, which means the same thing::

    --model.init_args.policy.warmstart null   ->   --model.init_args.policy {"warmstart": null}
    --model.policy.lora=~                     ->   --model.policy {"lora": null}

Why: jsonargparse (4.x) passes a dotted key below a class's ``init_args`` on as the text
``f"--{key}={value}"``, which turns a null into the string "None": a ``str | None`` field then
gets "None" and a ``dict``, ``list`` or ``float`` field refuses it. A dict at the first level
below ``init_args`` is not re-serialised, and jsonargparse merges it into the field's current
value, so the field's other settings stay. Everything else (``--run_name null``,
``--trainer.max_steps 5``, non-null values) is left exactly as given. The nulls are the YAML
spellings ``null``, ``Null``, ``NULL`` and ``~``; ``None`` stays a string, as in YAML.

Deliberately not done: any other rewrite; ``dict_kwargs`` keys.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

NULLS = frozenset({"null", "Null", "NULL", "~"})


def option_strings(parsers: Iterable[Any]) -> set[str]:
    """Every option string (``--model``, ``--trainer.max_steps``, ...) of the argparse parsers."""
    return {option for parser in parsers for option in parser._option_string_actions}


def _as_dict_option(key: str, options: Collection[str]) -> tuple[str, str] | None:
    """(option, JSON value) carrying a null at ``key`` one level below its class option, or
    None when ``key`` needs no rewrite."""
    owners = [o for o in options if key.startswith(f"{o}.")]
    if not owners:
        return None
    owner = max(owners, key=len)
    prefix, rest = owner, key[len(owner) + 1 :]
    if rest.startswith("init_args."):
        prefix, rest = f"{owner}.init_args", rest[len("init_args.") :]
    field, _, path = rest.partition(".")
    if not path or field == "dict_kwargs":
        return None
    value: Any = None
    for name in reversed(path.split(".")):
        value = {name: value}
    return f"{prefix}.{field}", json.dumps(value)


def nested_nulls_as_dicts(args: Sequence[str], options: Collection[str]) -> list[str]:
    """``args`` with each nested ``--a.b.c null`` / ``--a.b.c=null`` below a class option in
    ``options`` rewritten as ``--a.b {"c": null}`` (see the module docstring)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        key, eq, value = arg.partition("=")
        if not eq and i + 1 < len(args) and args[i + 1] in NULLS:
            value, eq = args[i + 1], "next"
        rewrite = _as_dict_option(key, options) if key.startswith("--") and value in NULLS else None
        if eq and rewrite is not None:
            out += rewrite
            i += 2 if eq == "next" else 1
        else:
            out.append(arg)
            i += 1
    return out
