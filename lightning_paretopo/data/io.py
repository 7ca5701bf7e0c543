"""Record I/O for the task readers: local json/jsonl/parquet files or Hugging Face datasets.

Contract: ``load_records(source, split, hf_name)`` returns a list of plain dicts. ``source`` is a
local file when it is an existing file, ends in ``.json``/``.jsonl``/``.parquet``, or starts
with ``/``, ``.`` or ``~`` (and is not an existing directory); a local file that does not exist
raises ``MissingDataFileError`` (both a ValueError and a FileNotFoundError) naming it. Anything
else (a Hugging Face dataset id, or a local dataset directory) goes to
``datasets.load_dataset(source, hf_name, split=split)``, which needs network or a local copy.

Deliberately not done: streaming, caching, and any download other than through ``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


class MissingDataFileError(ValueError, FileNotFoundError):
    """A local data file that does not exist."""


def is_local_source(source: str | Path) -> bool:
    """True when ``source`` names a local file rather than a Hugging Face dataset id."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        return False
    return (
        path.is_file() or text.lower().endswith(LOCAL_SUFFIXES) or text.startswith(("/", ".", "~"))
    )


def _read_json(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # a .json file holding one object per line
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(
            f"{path}: expected a JSON list of objects (or {{'data': [...]}}), "
            f"got {type(data).__name__}"
        )
    return data


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a local ``.jsonl``, ``.json`` (list of objects) or ``.parquet`` file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingDataFileError(f"data file not found: {path} (check the source path)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if suffix == ".json":
        return _read_json(path)
    raise ValueError(
        f"source {path}: unsupported file type {suffix!r}; use one of {LOCAL_SUFFIXES}"
    )


def _load_hf(source: str, split: str | None, hf_name: str | None) -> list[dict[str, Any]]:
    import datasets

    loaded = datasets.load_dataset(source, hf_name, split=split)
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise ValueError(
                f"dataset {source!r} has splits {sorted(loaded)}; pass split= to pick one"
            )
        loaded = next(iter(loaded.values()))
    return [dict(r) for r in loaded]


def load_records(
    source: str | Path, split: str | None = None, hf_name: str | None = None
) -> list[dict[str, Any]]:
    """Records from a local file, or from the Hugging Face dataset ``source`` (split/config)."""
    if is_local_source(source):
        return read_records(source)
    return _load_hf(str(source), split, hf_name)


def split_label(source: str | Path, split: str | None) -> str:
    """The split tag used in task ids: ``split`` if given, else the file stem or dataset name."""
    if split:
        return split
    return Path(str(source)).stem if is_local_source(source) else str(source).split("/")[-1]


def take(records: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` records (all when None)."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    return records if limit is None else records[:limit]


def require_field(record: dict[str, Any], names: tuple[str, ...], index: int, source: str) -> Any:
    """The first non-empty field of ``record`` among ``names``; ValueError naming them if none."""
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    raise ValueError(
        f"{source}: record {index} has none of the fields {names}; keys are {sorted(record)}"
    )


def write_jsonl(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Write ``records`` one JSON object per line (UTF-8, parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
