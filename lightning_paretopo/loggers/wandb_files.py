"""Read W&B's local run files (``run-<id>.wandb``), offline or online, without the network.

W&B writes every run to a transaction log in ``<dir>/wandb/{offline-,}run-<time>-<id>/run-<id>.wandb``
(also when it syncs online). The file is a 7-byte header (``:W&B``, magic, version) followed by
LevelDB-log records (32 KiB blocks; each record has a 7-byte header: CRC32, length, type
FULL/FIRST/MIDDLE/LAST), each record a ``wandb_internal_pb2.Record`` protobuf. wandb 0.31 no
longer ships a Python reader, so this module is one (about the format as wandb-core writes it).

- ``run_files(wandb_dir, run_id)``: every segment of one run (a resumed run writes a new
  directory with the same id), oldest first.
- ``read_run(path)``: the run id, history rows, summary updates and tags of one file. A file
  cut short (the process was killed) ends at its last whole record.
- ``logged_steps(wandb_dir, run_id)``: the ``trainer/global_step`` of every history row of the
  run, over all its segments: what a resumed run must not log again.

Deliberately not done: no CRC check (a torn tail is detected by its length), no writing.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
STEP_KEY = "trainer/global_step"


def records(path: Path) -> Iterator[bytes]:
    """The payloads of the LevelDB-log records of one ``.wandb`` file, in order."""
    raw = Path(path).read_bytes()
    if raw[:4] != b":W&B"[: len(raw[:4])]:
        raise ValueError(f"{path}: not a W&B run file (header {raw[:4]!r})")
    if len(raw) < HEADER:  # cut short inside the header: nothing was written yet
        return
    pos, parts = HEADER, []  # the W&B header counts towards the first block
    while pos + HEADER <= len(raw):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer: zero padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + HEADER])
        if kind == 0 and length == 0:  # zero fill up to the next block
            pos += left
            continue
        if pos + HEADER + length > len(raw):  # torn tail of a killed process
            return
        data, pos = raw[pos + HEADER : pos + HEADER + length], pos + HEADER + length
        if kind == FULL:
            yield data
        elif kind == FIRST:
            parts = [data]
        elif kind == MIDDLE:
            parts.append(data)
        elif kind == LAST:
            yield b"".join([*parts, data])
            parts = []


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass
class RunFile:
    """What one ``.wandb`` file holds (history rows and summary updates as plain dicts)."""

    path: Path
    run_id: str | None = None
    resumed: bool = False
    group: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def read_run(path: Path) -> RunFile:
    """Parse one ``run-<id>.wandb`` file."""
    from wandb.proto import wandb_internal_pb2 as pb  # lazy: wandb is heavy

    out = RunFile(Path(path))
    for data in records(path):
        rec = pb.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            out.run_id, out.resumed = rec.run.run_id, rec.run.resumed
            out.group, out.tags = rec.run.run_group, list(rec.run.tags)
            out.config.update({i.key: _value(i.value_json) for i in rec.run.config.update})
        elif kind == "config":
            out.config.update({i.key: _value(i.value_json) for i in rec.config.update})
        elif kind == "history":
            row = {i.key or "/".join(i.nested_key): _value(i.value_json) for i in rec.history.item}
            out.history.append(row)
        elif kind == "summary":
            for item in rec.summary.update:
                key = item.key or "/".join(item.nested_key)
                if key:
                    out.summary[key] = _value(item.value_json)
    return out


def run_files(wandb_dir: Path, run_id: str) -> list[Path]:
    """The ``.wandb`` files of run ``run_id`` under ``wandb_dir``, oldest segment first."""
    wandb_dir = Path(wandb_dir)
    if not wandb_dir.is_dir():
        return []
    found = wandb_dir.glob(f"*run-*-{run_id}/run-{run_id}.wandb")
    return sorted(found, key=lambda p: p.parent.name.split("run-", 1)[1])


def logged_steps(wandb_dir: Path, run_id: str) -> list[int]:
    """Every ``trainer/global_step`` logged to the run, over all its segments, in file order."""
    steps = []
    for path in run_files(wandb_dir, run_id):
        steps += [int(row[STEP_KEY]) for row in read_run(path).history if STEP_KEY in row]
    return steps
