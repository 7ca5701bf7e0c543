"""Per-tier evaluation of a policy, or of a run's checkpoint, on a held-out split: two tables.

    .venv/bin/python benchmarks/tiers.py --config configs/quickstart.yaml \\
        [--ckpt logs/quickstart/paretopo-s0/checkpoints/last.ckpt] [--split val] [--size 500] \\
        [--samples 4] [--seed 0] [--threads 1]

The config is read by the training CLI's own parser (``build_from_config``: ``ParetoPOCLI``
with ``run=False``), so ``${...}`` interpolation, ``class_path``/``init_args`` and defaults
resolve exactly as in training; it builds the ``ParetoPOModule`` (whose policy loads lazily, so
not here) and the DataModule, and no Trainer, run directory or thread setting. From the built
module it takes the policy and rollout settings, the tools (``building.select_tools``) and the
reward heads (``model.objectives``); it loads the policy once (``load_policy`` with the
``PolicyArgs``; with ``--ckpt``, the ``policy.*`` weights of a Lightning checkpoint of
``ParetoPOModule``, adapter-only too) and rolls out every task of ``--split`` ``--samples``
times at the config's temperature with the real engine and tools.

Scoring is the reward heads' (``warmstart.evaluate.rollout_samples``): a sample's accuracy is the
raw ``accuracy`` objective of the config's heads (their answer formats, 1/0 or F1), well formed
is the ``Format`` verdict, as in training and in the warm start's report.

Printed: the warm start's tier table (``warmstart.evaluate``: accuracy with and without a tool
call, call rate, mean calls, well-formed share) and accuracy by number of calls per tier, then
overall accuracy, mean calls and the point's hypervolume: accuracy x mean tool efficiency
(1 - min(calls, M) / M, M the budget of the config's ``ToolEfficiency`` head), the quantity the
fronts report calls per-run HV. Choose settings on ``val``: ``test`` is the reported split.

Deliberately not done: no greedy pass, no file output (redirect stdout), no warm start of a
missing policy (training's ``warmstart.ensure`` step: evaluate an existing policy only).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run without an install

from lightning_paretopo.adapter_checkpoint import check_adapter_state, trainable_keys  # noqa: E402
from lightning_paretopo.building import build_engine, select_tools  # noqa: E402
from lightning_paretopo.cli import ParetoPOCLI  # noqa: E402
from lightning_paretopo.module import ParetoPOModule  # noqa: E402
from lightning_paretopo.policy.loading import load_policy  # noqa: E402
from lightning_paretopo.rewards import RewardHeads, ToolEfficiency  # noqa: E402
from lightning_paretopo.warmstart.evaluate import (  # noqa: E402
    Sample,
    markdown_table,
    rollout_samples,
    tier_table,
)


class _ConfigCLI(ParetoPOCLI):
    """The training CLI's parsing and building of ``model`` and ``data``, and nothing more: no
    run directory, threads or resume checks (``before_instantiate_classes``), no Trainer, its
    callbacks or loggers (a GPU config builds on a CPU host)."""

    def before_instantiate_classes(self) -> None:
        """Nothing runs: no run directory to fill or lock."""

    def instantiate_classes(self) -> None:
        config = self.config.clone()
        config.trainer.callbacks = config.trainer.logger = None  # not built: no Trainer here
        built = self.parser.instantiate(config)
        self.config_init = built
        self.model, self.datamodule, self.trainer = built.model, built.data, None


def build_from_config(config: str | Path, split: str, size: int | None) -> tuple[Any, Any]:
    """(the config's model, its DataModule with ``<split>_size`` = ``size`` when given), built
    as ``train.py`` builds them (``cli.main(..., run=False)``'s parser and modes)."""
    args = ["--config", str(config)]
    args += [] if size is None else [f"--data.init_args.{split}_size={size}"]
    with warnings.catch_warnings():  # sys.argv is tiers.py's own, not the CLI's: no mix-up
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        cli = _ConfigCLI(
            model_class=None,
            datamodule_class=None,
            subclass_mode_model=True,
            subclass_mode_data=True,
            parser_kwargs={"parser_mode": "omegaconf"},
            args=args,
            run=False,
        )
    return cli.model, cli.datamodule


def load_checkpoint_policy(policy: torch.nn.Module, ckpt: str | Path) -> None:
    """Copy the ``policy.*`` weights of a ParetoPOModule checkpoint into ``policy``: all of
    them (strict), or, for a LoRA run's adapter-only checkpoint, its adapters onto the base the
    config names (checked as a resume checks them, ``adapter_checkpoint.check_adapter_state``)."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    weights = {k.removeprefix("policy."): v for k, v in state.items() if k.startswith("policy.")}
    if not weights:
        raise ValueError(
            f"--ckpt {ckpt}: no 'policy.*' weights; is it a ParetoPOModule checkpoint?"
        )
    own = set(policy.state_dict())
    if set(weights) < own:  # adapter-only: the base weights come from policy.name_or_path
        check_adapter_state(weights, trainable_keys(policy), own)
        policy.load_state_dict(weights, strict=False)
        return
    policy.load_state_dict(weights, strict=True)


def calls_table(samples: Sequence[Sample]) -> str:
    """Markdown: per tier and number of calls (0, 1, 2, 3+), the samples and their accuracy."""
    groups: dict[tuple[str, int], list[float]] = defaultdict(list)
    for s in samples:
        groups[(s.tier, min(s.calls, 3))].append(s.accuracy)
    lines = ["| tier | calls | n | accuracy |", "|---|---|---|---|"]
    for (tier, calls), acc in sorted(groups.items()):
        label = "3+" if calls == 3 else str(calls)
        lines.append(f"| {tier} | {label} | {len(acc)} | {sum(acc) / len(acc):.3f} |")
    return "\n".join(lines)


def tool_budget(objectives: RewardHeads) -> int:
    """M of the ``ToolEfficiency`` head among the reward heads."""
    for head in objectives:
        if isinstance(head, ToolEfficiency):
            return head.budget
    raise ValueError(
        f"model.init_args.objectives {objectives.names} has no ToolEfficiency head, so the HV "
        "is undefined; tiers.py evaluates accuracy-vs-tool-calls configs only"
    )


def point_hypervolume(samples: Sequence[Sample], budget: int) -> float:
    """HV of the mean (accuracy, tool efficiency) point against the zero reference."""
    accuracy = sum(s.accuracy for s in samples) / len(samples)
    efficiency = sum(1 - min(s.calls, budget) / budget for s in samples) / len(samples)
    return accuracy * efficiency


def evaluate(args: argparse.Namespace) -> str:
    """The report (tables and totals) for ``args``; see the module docstring."""
    model, dm = build_from_config(args.config, args.split, args.size)
    if not isinstance(model, ParetoPOModule):
        raise ValueError(
            f"--config {args.config}: model is a {type(model).__name__}; tiers.py evaluates an "
            "RL config (model: lightning_paretopo.module.ParetoPOModule)"
        )
    budget = tool_budget(model.objectives)  # before any loading: a config without one fails fast
    dm.setup("validate")
    tasks = dm.splits[args.split]
    p = model.policy_args
    policy, tokenizer = load_policy(
        p.name_or_path, p.dtype, p.lora, p.load_in_4bit,
        trust_remote_code=p.trust_remote_code, gguf_file=p.gguf_file,
    )  # fmt: skip
    if args.ckpt:
        load_checkpoint_policy(policy, args.ckpt)
    policy.eval()
    tools = select_tools(model.tool_specs, dm)
    engine = build_engine(model.rollout_args, tokenizer, tools, p.name_or_path)
    with torch.no_grad():
        samples = rollout_samples(
            policy, tokenizer, tasks, engine, model.objectives, args.batch_size, args.seed,
            args.samples,
        )  # fmt: skip
    accuracy = sum(s.accuracy for s in samples) / len(samples)
    calls = sum(s.calls for s in samples) / len(samples)
    source = args.ckpt or p.name_or_path
    return "\n\n".join(
        [
            f"{source}: {len(tasks)} {args.split} tasks x {args.samples} samples "
            f"(T={model.rollout_args.temperature:g})",
            markdown_table(tier_table(samples)),
            calls_table(samples),
            f"accuracy {accuracy:.3f}  tool calls {calls:.3f}  "
            f"HV {point_hypervolume(samples, budget):.3f}",
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="an experiment config (configs/*.yaml)")
    parser.add_argument("--ckpt", help="a ParetoPOModule checkpoint; default: the config's policy")
    parser.add_argument("--split", default="val", choices=["val", "test"])
    parser.add_argument("--size", type=int, help="tasks of the split (default: the config's)")
    parser.add_argument("--samples", type=int, default=4, help="rollouts per task")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampling generator")
    parser.add_argument("--batch-size", type=int, default=256, help="rollouts generated together")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(evaluate(args))


if __name__ == "__main__":
    main()
