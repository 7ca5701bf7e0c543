"""Record I/O for the task readers: local json/jsonl/parquet files or Hugging Face datasets.

Contract: ``load_located(source, split, hf_name)`` returns ``Located(where, record)`` pairs, one
per record, where ``where`` says where the record came from for error messages:
``"<path>, line <n>"`` (json lines, 1-based, blank lines counted), ``"<path>, record <n>"`` (a
JSON list), ``"<path>, row <n>"`` (parquet) or ``"<dataset> (<split>), row <n>"``.
``load_records`` / ``read_records`` return the plain dicts. ``source`` is a local file when it
is an existing file, ends in ``.json``/``.jsonl``/``.parquet``, or starts with ``/``, ``.`` or
``~`` (and is not an existing directory); a local file that does not exist raises
``MissingDataFileError`` (both a ValueError and a FileNotFoundError) naming it. Anything else (a
Hugging Face dataset id, or a local dataset directory) goes to
``datasets.load_dataset(source, hf_name, split=split)``, which needs network or a local copy.

Bad local files raise ``DataFormatError`` (a ValueError) naming the file, the line and the fix:
invalid JSON, a byte that is not UTF-8, a line or list item that is not a JSON object. A ``.json``
file is a JSON list of objects (or ``{"data": [...]}``), or else one object per line (when its
first line parses alone). A UTF-8 byte-order mark and CRLF line ends are accepted.

Deliberately not done: streaming, caching, and any download other than through ``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")
JSONL_FIX = "fix or delete that line: each line of a JSON-lines file holds one JSON object"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
T = TypeVar("T")


class MissingDataFileError(ValueError, FileNotFoundError):
    """A local data file that does not exist."""


class DataFormatError(ValueError):
    """A data file or record that cannot be read; the message names where and the fix."""


class Located(NamedTuple):
    """One record and where it came from (``"<path>, line 3"``), for error messages."""

    where: str
    record: dict[str, Any]


def is_local_source(source: str | Path) -> bool:
    """True when ``source`` names a local file rather than a Hugging Face dataset id."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        return False
    return (
        path.is_file() or text.lower().endswith(LOCAL_SUFFIXES) or text.startswith(("/", ".", "~"))
    )


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type: object, array, string, number, boolean or null."""
    return _JSON_TYPES.get(type(value), "number")


def _decode(path: Path, data: bytes) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped); DataFormatError naming the
    line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataFormatError(
            f"{path}, line {line}: byte 0x{data[err.start]:02x} at column {column} is not UTF-8 "
            f"({err.reason}); re-encode the file as UTF-8 "
            f"(e.g. iconv -f <its encoding> -t utf-8 {path.name} > {path.stem}-utf8{path.suffix})"
        ) from None


def _object(where: str, value: Any, fix: str) -> Located:
    if not isinstance(value, dict):
        raise DataFormatError(
            f"{where}: expected a JSON object {{...}}, got a JSON {json_type(value)}; {fix}"
        )
    return Located(where, value)


def _json_lines(path: Path, text: str) -> list[Located]:
    """One record per non-blank line; line numbers count every line, 1-based."""
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(
                f"{where}: not valid JSON ({err.msg} at column {err.colno}); {JSONL_FIX}"
            ) from None
        records.append(_object(where, value, JSONL_FIX))
    return records


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _json_document(path: Path, text: str) -> list[Located]:
    """A JSON list of objects or ``{"data": [...]}``; else one object per line when the first
    non-blank line parses on its own (JSON lines named ``.json``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        first = next((line for line in text.split("\n") if line.strip()), "")
        if _parses(first):
            return _json_lines(path, text)
        raise DataFormatError(
            f"{path}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg}); fix the "
            'file: a .json file holds a list of objects, {"data": [...]}, or one object a line'
        ) from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise DataFormatError(
            f'{path}: expected a JSON list of objects (or {{"data": [...]}}), got a JSON '
            f"{json_type(data)}; wrap the records in [...]"
        )
    fix = "every item of the list must be one record {...}"
    return [_object(f"{path}, record {n}", r, fix) for n, r in enumerate(data, start=1)]


def read_located(path: str | Path) -> list[Located]:
    """The records of a local ``.jsonl``, ``.json`` or ``.parquet`` file, with where each is."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingDataFileError(f"data file not found: {path} (check the source path)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
        return [Located(f"{path}, row {n}", r) for n, r in enumerate(rows, start=1)]
    if suffix not in (".jsonl", ".json"):
        raise ValueError(
            f"source {path}: unsupported file type {suffix!r}; use one of {LOCAL_SUFFIXES}"
        )
    text = _decode(path, path.read_bytes())
    return _json_lines(path, text) if suffix == ".jsonl" else _json_document(path, text)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a local ``.jsonl``, ``.json`` (list of objects) or ``.parquet`` file."""
    return [r.record for r in read_located(path)]


def _load_hf(source: str, split: str | None, hf_name: str | None) -> list[Located]:
    import datasets

    loaded = datasets.load_dataset(source, hf_name, split=split)
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise ValueError(
                f"dataset {source!r} has splits {sorted(loaded)}; pass split= to pick one"
            )
        split, loaded = next(iter(loaded.items()))
    label = f"{source} ({split})" if split else source
    return [Located(f"{label}, row {n}", dict(r)) for n, r in enumerate(loaded, start=1)]


def load_located(
    source: str | Path, split: str | None = None, hf_name: str | None = None
) -> list[Located]:
    """Located records from a local file, or from the Hugging Face dataset ``source``."""
    if is_local_source(source):
        return read_located(source)
    return _load_hf(str(source), split, hf_name)


def load_records(
    source: str | Path, split: str | None = None, hf_name: str | None = None
) -> list[dict[str, Any]]:
    """Records from a local file, or from the Hugging Face dataset ``source`` (split/config)."""
    return [r.record for r in load_located(source, split, hf_name)]


def split_label(source: str | Path, split: str | None) -> str:
    """The split tag used in task ids: ``split`` if given, else the file stem or dataset name."""
    if split:
        return split
    return Path(str(source)).stem if is_local_source(source) else str(source).split("/")[-1]


def take(records: list[T], limit: int | None) -> list[T]:
    """The first ``limit`` records (all when None)."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    return records if limit is None else records[:limit]


def require_field(located: Located, names: tuple[str, ...], fix: str = "") -> Any:
    """The first non-empty field of the record among ``names``; DataFormatError naming where
    the record is, the fields, and ``fix`` (e.g. which ``kind`` reads such records)."""
    record = located.record
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    raise DataFormatError(
        f"{located.where}: the record has none of the fields {names} (or they are empty); keys "
        f"are {sorted(record)}; {fix or 'add the field, or check that this is the right file'}"
    )


def write_jsonl(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Write ``records`` one JSON object per line (UTF-8, parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
