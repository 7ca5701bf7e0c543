"""A cache of start points: the starting policy's test point, which every run of a benchmark seed
would otherwise recompute identically (15 methods x 3 seeds share 3 distinct start points).

Contract:
    - ``start_key(pl_module, test_batches)``: a sha256 over everything the start point depends
      on: the policy (its name; for a local directory also each file's name and bytes, or size
      and mtime above 64 MB), the test tasks (ids, prompts, answers), the rollout settings except
      ``group_size`` (training only), the rollout seed, the objectives (class and public
      settings), and the source of the ``lightning_paretopo`` package, so any code change
      invalidates every entry.
    - ``load_start(cache_dir, key)`` / ``save_start(cache_dir, key, record)``: one JSON file per
      key, ``<cache_dir>/<key>.json``, written atomically; two runs that miss at once both write
      the same content.

Deliberately not done: dependency versions (torch, transformers) are not in the key; clear the
directory after upgrading them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]
BIG_FILE = 64 * 2**20
_SIMPLE = (bool, int, float, str, type(None), tuple, list)


def _policy_files(h: Any, name_or_path: str) -> None:
    root = Path(name_or_path)
    if not root.is_dir():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        h.update(str(path.relative_to(root)).encode())
        if stat.st_size > BIG_FILE:
            h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            h.update(path.read_bytes())


def _head_settings(head: Any) -> dict[str, Any]:
    public = {k: v for k, v in vars(head).items() if not k.startswith("_")}
    return {"class": type(head).__qualname__} | {
        k: v for k, v in sorted(public.items()) if isinstance(v, _SIMPLE)
    }


def start_key(pl_module: Any, test_batches: Iterable[list[Any]]) -> str:
    """The cache key of ``pl_module``'s start point on ``test_batches`` (lists of tasks)."""
    h = hashlib.sha256()
    h.update(pl_module.policy_args.name_or_path.encode())
    _policy_files(h, pl_module.policy_args.name_or_path)
    tasks = [[t.id, t.prompt, str(t.answer)] for batch in test_batches for t in batch]
    rollout = asdict(pl_module.rollout_args)
    rollout.pop("group_size")
    heads = [_head_settings(head) for head in pl_module.objectives.heads]
    settings = {"tasks": tasks, "rollout": rollout, "seed": pl_module.rollout_seed, "heads": heads}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def load_start(cache_dir: str | Path, key: str) -> dict[str, Any] | None:
    """The cached start record of ``key``, or None."""
    path = Path(cache_dir) / f"{key}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def save_start(cache_dir: str | Path, key: str, record: dict[str, Any]) -> Path:
    """Write ``record`` under ``key`` atomically; returns its path."""
    path = Path(cache_dir) / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)
    return path
