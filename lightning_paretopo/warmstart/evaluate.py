"""Rollout evaluation of a warm-started policy, split by tier and by tool use.

Contract: ``evaluate_policy`` rolls out the policy ``samples_per_task`` times per held-out task
with the real ``RolloutEngine`` and the real tools, sampled at ``temperature`` (the RL stage's
sampling) and, with ``greedy``, once more greedily (eval mode, except a 4-bit model, which stays
in train mode: see ``policy.loading``).

Scoring has one definition, the reward heads' (``rollout_samples``, ``score_batch``): each
rollout batch goes through the given ``RewardHeads`` (R_raw [N, K], the batch's own tasks). A
sample's accuracy is the raw value of the objective named ``accuracy`` (1/0, or token F1 for QA
in F1 mode); well formed is the verdict of the set's ``Format`` head, or, when the set has
none, of a ``Format`` reading the accuracy head's answer formats (a final answer in them, no
invalid call, no budget cut). So a row that RL rewards as right counts as right here, in the
warm start's report and in ``benchmarks/tiers.py``. A set without an ``accuracy`` objective is
refused (ValueError naming ``objectives``).

For each tier (and "all") the table gives: n, the mean accuracy of samples that called a tool,
of samples that did not, the fraction that called a tool, the mean number of calls, the
well-formed fraction and the mean accuracy of all its samples. The tables are logged and written
as markdown; the metrics are returned flat as ``warmstart_eval/<mode>/<tier>/<column>``. While
it runs, it logs progress lines (rollouts done/total, elapsed, ETA) after the first chunk, the
last one, and every ``progress_every_s`` seconds between (``callbacks.progress_log.ProgressClock``).

Deliberately not done: no pass@k, no per-behaviour breakdown beyond "used a tool or not", no
stateful head updates (the heads score with ``learn=False``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lightning_paretopo.callbacks.progress_log import ProgressClock
from lightning_paretopo.rewards.heads import Format
from lightning_paretopo.rewards.objectives import RewardHeads
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.types import RolloutBatch, TaskExample

log = logging.getLogger(__name__)

COLUMNS = ("n", "acc_tool", "acc_no_tool", "frac_tool", "mean_calls", "well_formed", "accuracy")


@dataclass
class EvalArgs:
    """The fit-end rollout evaluation of the warm start."""

    enabled: bool = True
    """Run the evaluation (the policy is saved either way)."""
    temperature: float = 1.0
    """Sampling temperature, the one the RL stage samples with."""
    greedy: bool = True
    """Also evaluate greedy decoding (one rollout per task)."""
    samples_per_task: int = 1
    """Sampled rollouts per task (kbqa has only 61 test questions: sample each several times)."""
    max_turns: int = 4
    """Policy turns per trajectory."""
    max_new_tokens: int = 48
    """Sampled tokens per turn."""
    max_total_tokens: int = 256
    """Tokens per trajectory, prompt and observations included."""
    batch_size: int = 250
    """Tasks rolled out together."""
    seed: int = 0
    """Seeds the sampling generator."""
    progress_every_s: float = 30.0
    """Seconds between progress log lines (the first and the last chunk are always logged)."""


@dataclass(frozen=True)
class Sample:
    """One scored rollout."""

    tier: str
    calls: int
    accuracy: float
    """The raw value of the ``accuracy`` objective: 1/0, or token F1 in F1 mode."""
    well_formed: bool


def accuracy_column(objectives: RewardHeads) -> int:
    """The column of the objective named ``accuracy`` in ``objectives``' R_raw [N, K].

    Raises:
        ValueError: no objective is named ``accuracy`` (the evaluation scores answers with it).
    """
    if "accuracy" not in objectives.names:
        raise ValueError(
            f"objectives: the evaluation scores answers with the objective named 'accuracy', "
            f"but the reward heads are {objectives.names}; add an Accuracy head "
            f"(lightning_paretopo.rewards.Accuracy, name 'accuracy')"
        )
    return objectives.index("accuracy")


def score_batch(objectives: RewardHeads, batch: RolloutBatch) -> tuple[Tensor, Tensor]:
    """(accuracy [N] float64, well_formed [N] bool) of a rollout batch, by the reward heads.

    Accuracy is the ``accuracy`` column of R_raw; well formed is the set's ``Format`` head's
    verdict, else that of a ``Format`` with the accuracy head's answer formats.
    """
    k = accuracy_column(objectives)
    R_raw, _ = objectives(batch)  # [N, K]
    fmt = next((j for j, head in enumerate(objectives) if isinstance(head, Format)), None)
    if fmt is not None:
        formed = R_raw[:, fmt]  # [N]
    else:
        formats = getattr(objectives.heads[k], "answer_formats", None)
        formed = Format(answer_formats=formats)(batch, batch.tasks)  # [N]
    return R_raw[:, k], formed > 0.5


def rollout_samples(
    model: torch.nn.Module,
    tokenizer: Any,
    tasks: Sequence[TaskExample],
    engine: RolloutEngine,
    objectives: RewardHeads,
    batch_size: int,
    seed: int,
    group_size: int = 1,
    progress: tuple[str, ProgressClock] | None = None,
) -> list[Sample]:
    """Roll out each task ``group_size`` times with ``engine``; score every rollout with
    ``objectives`` (``score_batch``).

    ``progress`` = (label, clock): log "<label> <rollouts done>/<total>" lines when it is due.
    """
    accuracy_column(objectives)  # refuse a set without accuracy before any rollout
    generator = torch.Generator(device="cpu").manual_seed(seed)
    samples: list[Sample] = []
    step = max(1, batch_size // group_size)
    total = len(tasks) * group_size
    for start in range(0, len(tasks), step):
        chunk = list(tasks[start : start + step])
        batch = engine.generate(model, tokenizer, chunk, group_size=group_size, generator=generator)
        accuracy, well_formed = score_batch(objectives, batch)  # [N], [N]
        for i, task in enumerate(batch.tasks):
            tier = str(task.meta.get("tier", "all"))
            samples.append(
                Sample(tier, int(batch.tool_calls[i]), float(accuracy[i]), bool(well_formed[i]))
            )
        if progress is not None and progress[1].due(len(samples), total):
            log.info(progress[1].line(progress[0], len(samples), total))
    return samples


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def tier_table(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """Per tier (in order of first appearance, then "all"): the ``COLUMNS`` statistics."""
    tiers = list(dict.fromkeys(s.tier for s in samples)) + ["all"]
    table = {}
    for tier in tiers:
        group = [s for s in samples if tier in ("all", s.tier)]
        tool = [s.accuracy for s in group if s.calls > 0]
        no_tool = [s.accuracy for s in group if s.calls == 0]
        table[tier] = {
            "n": float(len(group)),
            "acc_tool": _mean(tool),
            "acc_no_tool": _mean(no_tool),
            "frac_tool": _mean([s.calls > 0 for s in group]),
            "mean_calls": _mean([s.calls for s in group]),
            "well_formed": _mean([s.well_formed for s in group]),
            "accuracy": _mean([s.accuracy for s in group]),
        }
    return table


def markdown_table(table: Mapping[str, Mapping[str, float]]) -> str:
    """A markdown table: one row per tier, one column per statistic (NaN or missing: "-")."""

    def cell(col: str, value: float) -> str:
        if math.isnan(value):
            return "-"
        return str(int(value)) if col == "n" else f"{value:.3f}"

    lines = ["| tier | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for tier, row in table.items():
        lines.append(
            f"| {tier} | " + " | ".join(cell(c, row.get(c, math.nan)) for c in COLUMNS) + " |"
        )
    return "\n".join(lines)


def evaluate_policy(
    model: torch.nn.Module,
    tokenizer: Any,
    tasks: Sequence[TaskExample],
    tools: Mapping[str, Any],
    protocol: Any,
    args: EvalArgs,
    objectives: RewardHeads,
    path: Path | None = None,
) -> dict[str, float]:
    """Evaluate sampled (and greedy) rollouts scored by ``objectives``; write the markdown
    report to ``path``."""
    if not args.enabled or not tasks:
        return {}
    # A 4-bit model must stay in train mode (see policy.loading); others evaluate in eval mode.
    was_training = model.training
    if not getattr(model, "is_loaded_in_4bit", False):
        model.eval()
    modes = [("sampled", True, args.samples_per_task)]
    modes += [("greedy", False, 1)] if args.greedy else []
    sections, metrics = [], {}
    for mode, do_sample, group_size in modes:
        engine = RolloutEngine(
            protocol, tools, max_turns=args.max_turns, max_new_tokens=args.max_new_tokens,
            max_total_tokens=args.max_total_tokens, temperature=args.temperature,
            do_sample=do_sample,
        )  # fmt: skip
        start = time.monotonic()
        progress = (f"warm-start eval, {mode}: rollouts", ProgressClock(args.progress_every_s))
        samples = rollout_samples(
            model, tokenizer, tasks, engine, objectives, args.batch_size, args.seed, group_size,
            progress,
        )  # fmt: skip
        table = tier_table(samples)
        title = (
            f"{mode} (temperature {args.temperature}, {group_size} per task)" if do_sample else mode
        )
        body = markdown_table(table)
        sections.append(f"## {title}\n\n{body}\n")
        log.info("warm-start eval, %s, %d samples, %.1f s:\n%s", title, len(samples),
                 time.monotonic() - start, body)  # fmt: skip
        for tier, row in table.items():
            metrics.update({f"warmstart_eval/{mode}/{tier}/{c}": v for c, v in row.items()})
    model.train(was_training)
    if path is not None:
        header = (
            f"# Warm-start evaluation\n\n{len(tasks)} held-out tasks, real rollout engine and tools."
            f" Scored by the reward heads {objectives.names}: accuracy is the mean raw"
            " 'accuracy' objective, well_formed the Format head's verdict. acc_tool /"
            " acc_no_tool: accuracy of the samples that did / did not call a tool.\n"
        )
        path.write_text(header + "\n" + "\n".join(sections))
    return {k: v for k, v in metrics.items() if not math.isnan(v)}
