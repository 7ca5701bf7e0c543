"""Readers for open-domain / multi-hop QA (HotpotQA, 2Wiki, MuSiQue, Bamboogle, NQ) and the
HotpotQA IRCoT passage corpus.

Contract: ``read_qa`` accepts, record by record, the formats found in the wild:

    format                      question field    answer field(s)
    R1-Searcher jsonl           question          answer (str)
    Agentic-RAG json list       question          answer (str, or list for NQ)
    FlashRAG jsonl              question          golden_answers (list)
    IRCoT jsonl                 question_text     answers_objects[*].spans / number / date
    plain lists                 question          answers (list)

The gold is a tuple of aliases (stripped, de-duplicated, order kept). Kind ``"qa"``, tools
``("search",)``. ``meta`` has ``source_index``, ``question_id`` when the record has one, and,
for IRCoT records, ``supporting_titles``. A record without a question or any gold answer
raises ``DataFormatError`` naming its place (``"<path>, line <n>"``, ``io.Located``).

``hotpotqa_corpus(path)`` reads the IRCoT file (``contexts``: ``{"title", "paragraph_text"}``)
and returns its paragraphs de-duplicated by (title, text), in first-seen order, as
``{"id": "hotpotqa-<n>", "title", "text"}``; ``write_hotpotqa_corpus`` writes them as jsonl.

Deliberately not done: the full Wikipedia corpora these datasets were built on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_paretopo.data.io import (
    DataFormatError,
    load_located,
    read_located,
    require_field,
    split_label,
    take,
    write_jsonl,
)
from lightning_paretopo.types import TaskExample


def _ircot_aliases(objects: list[dict[str, Any]]) -> list[str]:
    aliases: list[str] = []
    for obj in objects:
        aliases += [str(s) for s in obj.get("spans") or []]
        if obj.get("number") not in (None, ""):
            aliases.append(str(obj["number"]))
        date = obj.get("date") or {}
        parts = [str(date.get(k) or "") for k in ("day", "month", "year")]
        if any(parts):
            aliases.append(" ".join(p for p in parts if p))
    return aliases


def qa_aliases(record: dict[str, Any]) -> tuple[str, ...]:
    """The gold aliases of one QA record (any supported format); empty when none."""
    if record.get("golden_answers"):
        raw = record["golden_answers"]
    elif record.get("answers_objects"):
        raw = _ircot_aliases(record["answers_objects"])
    elif record.get("answer") not in (None, ""):
        raw = record["answer"]
    else:
        raw = record.get("answers") or []
    raw = [raw] if isinstance(raw, str | int | float) else list(raw)
    seen: dict[str, None] = {}
    for alias in raw:
        text = str(alias).strip()
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def read_qa(
    source: str | Path,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """QA tasks (answers: tuple of aliases) from a local file or HF id."""
    records = take(load_located(source, split, hf_name), limit)
    label = split_label(source, split)
    tasks = []
    for i, located in enumerate(records):
        r = located.record
        aliases = qa_aliases(r)
        if not aliases:
            raise DataFormatError(
                f"{located.where}: the record has no gold answer in golden_answers / "
                f"answers_objects / answer / answers; keys are {sorted(r)}; add one, or pass the "
                "kind= this file belongs to"
            )
        meta: dict[str, Any] = {"source_index": i}
        for key in ("question_id", "id", "idx"):
            if key in r:
                meta["question_id"] = r[key]
                break
        if isinstance(r.get("contexts"), list):
            meta["supporting_titles"] = sorted(
                {c["title"] for c in r["contexts"] if c.get("is_supporting")}
            )
        tasks.append(
            TaskExample(
                id=f"qa-{label}-{i:05d}",
                kind="qa",
                prompt=str(require_field(located, ("question", "question_text"))).strip(),
                answer=aliases,
                tools=("search",),
                meta=meta,
            )
        )
    return tasks


def hotpotqa_corpus(path: str | Path) -> list[dict[str, str]]:
    """The de-duplicated paragraphs of an IRCoT HotpotQA file as ``{"id", "title", "text"}``."""
    seen: dict[tuple[str, str], None] = {}
    for where, record in read_located(path):
        if not isinstance(record.get("contexts"), list):
            raise DataFormatError(
                f"{where}: the record has no 'contexts' list; corpus_source must be an IRCoT "
                "file (use corpus_path for a ready passages jsonl)"
            )
        for ctx in record["contexts"]:
            seen.setdefault((str(ctx["title"]), str(ctx["paragraph_text"])), None)
    return [
        {"id": f"hotpotqa-{n:05d}", "title": title, "text": text}
        for n, (title, text) in enumerate(seen)
    ]


def write_hotpotqa_corpus(src: str | Path, dest: str | Path) -> Path:
    """Write ``hotpotqa_corpus(src)`` to ``dest`` as jsonl; returns ``dest``."""
    return write_jsonl(hotpotqa_corpus(src), dest)
