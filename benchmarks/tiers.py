"""Per-tier evaluation of a policy, or of a run's checkpoint, on a held-out split: two tables.

    .venv/bin/python benchmarks/tiers.py --config configs/quickstart.yaml \\
        [--ckpt logs/quickstart/paretopo-s0/checkpoints/last.ckpt] [--split val] [--size 500] \\
        [--samples 4] [--seed 0] [--threads 1]

It takes the experiment config's DataModule (``data``), policy and rollout settings
(``model.init_args.policy`` / ``.rollout``), loads the policy (and, with ``--ckpt``, the
``policy.*`` weights of a Lightning checkpoint of ``ParetoPOModule``), and rolls out every task
of ``--split`` ``--samples`` times at the config's temperature with the real engine and tools.

Printed: the warm start's tier table (``policy.evaluate``: accuracy with and without a tool
call, call rate, mean calls, well-formed share) and accuracy by number of calls per tier, then
overall accuracy, mean calls and the point's hypervolume: accuracy x mean tool efficiency
(1 - min(calls, M) / M, M the config's ``ToolEfficiency`` budget), the quantity the fronts
report calls per-run HV. Choose settings on ``val``: ``test`` is the reported split.

Deliberately not done: no greedy pass, no file output (redirect stdout).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from lightning.pytorch.cli import instantiate_class

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run without an install

from lightning_paretopo.adapter_checkpoint import check_adapter_state, trainable_keys  # noqa: E402
from lightning_paretopo.args import PolicyArgs, RolloutArgs  # noqa: E402
from lightning_paretopo.building import build_engine, select_tools  # noqa: E402
from lightning_paretopo.policy.evaluate import (  # noqa: E402
    Sample,
    markdown_table,
    rollout_samples,
    tier_table,
)
from lightning_paretopo.policy.loading import load_policy  # noqa: E402


def build_datamodule(data: dict[str, Any], split: str, size: int | None) -> Any:
    """The config's DataModule (``class_path`` + ``init_args``), ``<split>_size`` overridden."""
    init_args = dict(data.get("init_args") or {}) | (
        {} if size is None else {f"{split}_size": size}
    )
    return instantiate_class((), {"class_path": data["class_path"], "init_args": init_args})


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
    groups: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for s in samples:
        groups[(s.tier, min(s.calls, 3))].append(s.correct)
    lines = ["| tier | calls | n | accuracy |", "|---|---|---|---|"]
    for (tier, calls), correct in sorted(groups.items()):
        label = "3+" if calls == 3 else str(calls)
        lines.append(f"| {tier} | {label} | {len(correct)} | {sum(correct) / len(correct):.3f} |")
    return "\n".join(lines)


def tool_budget(model_args: dict[str, Any]) -> int:
    """M of the config's ``ToolEfficiency`` reward head, as the head itself resolves it."""
    heads = (model_args.get("objectives") or {}).get("init_args", {}).get("heads", [])
    for head in heads:
        if head.get("class_path", "").endswith("ToolEfficiency"):
            return instantiate_class((), head).budget
    raise ValueError(
        "model.init_args.objectives has no ToolEfficiency head, so the HV is undefined; "
        "tiers.py evaluates accuracy-vs-tool-calls configs only"
    )


def point_hypervolume(samples: Sequence[Sample], budget: int) -> float:
    """HV of the mean (accuracy, tool efficiency) point against the zero reference."""
    accuracy = sum(s.correct for s in samples) / len(samples)
    efficiency = sum(1 - min(s.calls, budget) / budget for s in samples) / len(samples)
    return accuracy * efficiency


def evaluate(args: argparse.Namespace) -> str:
    """The report (tables and totals) for ``args``; see the module docstring."""
    config = yaml.safe_load(Path(args.config).read_text())
    model_args = config["model"]["init_args"]
    policy_args = PolicyArgs(**model_args.get("policy", {}))
    rollout = RolloutArgs(**model_args.get("rollout", {}))
    dm = build_datamodule(config["data"], args.split, args.size)
    dm.setup("validate")
    tasks = dm.splits[args.split]
    policy, tokenizer = load_policy(policy_args.name_or_path, policy_args.dtype, policy_args.lora)
    if args.ckpt:
        load_checkpoint_policy(policy, args.ckpt)
    policy.eval()
    engine = build_engine(rollout, tokenizer, select_tools(model_args.get("tool_config"), dm))
    with torch.no_grad():
        samples = rollout_samples(
            policy, tokenizer, tasks, engine, args.batch_size, args.seed, args.samples
        )
    accuracy = sum(s.correct for s in samples) / len(samples)
    calls = sum(s.calls for s in samples) / len(samples)
    source = args.ckpt or policy_args.name_or_path
    return "\n\n".join(
        [
            f"{source}: {len(tasks)} {args.split} tasks x {args.samples} samples "
            f"(T={rollout.temperature:g})",
            markdown_table(tier_table(samples)),
            calls_table(samples),
            f"accuracy {accuracy:.3f}  tool calls {calls:.3f}  "
            f"HV {point_hypervolume(samples, tool_budget(model_args)):.3f}",
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
