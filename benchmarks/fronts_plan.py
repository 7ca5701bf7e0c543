"""What the fronts benchmark runs: tasks, methods, blocks and the ``train.py fit`` commands.

Contract. ``TASKS`` maps a task to its configs, a base experiment config plus overlays from
``configs/tasks/`` (a later config's list replaces an earlier one's, so an overlay writes the
objectives' heads out in full). A method is an overlay in ``configs/methods/`` or
``configs/ablations/``; ``METHOD_GROUPS`` names lists of them: ``comparison`` (the default:
ParetoPO, its variants and the baselines), ``v1`` (version 1's baselines) and ``ablations``.

A **block** is one task x one seed x every method asked for: the methods' runs share the
task's warm-started policy and the seed, and are compared paired within the block
(``benchmarks/paired.py``). ``plan`` lists blocks (seed-major, then task), each with one
``RunSpec`` per method; a run lives in ``logs/fronts-<task>/<method>-s<seed>/`` (``--max-steps
N`` smoke runs in ``fronts-<task>-steps<N>``, so they never stand in for full runs).

``build_command`` is ``python train.py fit --config <each task config> --config <overlay>
--seed_everything S --model.init_args.rollout_seed S --experiment fronts-<task> --run_name
<method>`` plus, for a task with K != 2 objectives, the method's weights for K objectives
(``--model.init_args.method.weights=[...]``, ``weight_override``): the overlays' static
weights, GDPO's and paretopo_paper's w0 are written for two objectives.

Deliberately not done: no weights for K > 3 (such a task fails here, naming the method).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]

TASKS: dict[str, list[str]] = {
    "arith": ["configs/quickstart.yaml"],
    "kbqa": ["configs/kbqa_tiny.yaml"],
    "tradeoff": ["configs/quickstart.yaml", "configs/tasks/tradeoff.yaml"],
    "tradeoff_b8": [
        "configs/quickstart.yaml", "configs/tasks/tradeoff.yaml", "configs/tasks/budget8.yaml",
    ],
    "tradeoff_k3": [
        "configs/quickstart.yaml", "configs/tasks/tradeoff.yaml", "configs/tasks/brevity.yaml",
    ],
}  # fmt: skip
COMPARISON = [
    "paretopo_rank", "paretopo_hv_gradient", "paretopo_point_hvg", "paretopo_paper",
    "stage2_only", "accuracy_only", "static_80_20", "static_50_50", "gdpo", "otc",
]  # fmt: skip
"""Every ParetoPO variant with its options written out (docs/simulate.md chose the three):
``paretopo_rank`` is ALGORITHM.md v2's defaults (gated, rank, archive)."""
V1 = [
    "paretopo", "stage1_only", "stage2_only", "accuracy_only", "static_80_20", "static_50_50",
    "static_20_80", "gdpo", "otc", "hv_meta",
]  # fmt: skip
ABLATIONS = [
    "paretopo_no_credit", "paretopo_tie_crowding", "paretopo_tie_domination",
    "paretopo_tie_none", "paretopo_fixed_switch", "paretopo_tau_high",
]  # fmt: skip
METHOD_GROUPS = {"comparison": COMPARISON, "v1": V1, "all": V1, "ablations": ABLATIONS}
KNOWN = list(dict.fromkeys(COMPARISON + V1 + ABLATIONS))
FIXED_WEIGHTINGS = ["static_80_20", "static_50_50", "static_20_80"]
"""The fixed (static) weightings, the ``best fixed weighting`` a method is compared with."""

THIRD = [0.3333333333, 0.3333333333, 0.3333333334]
WEIGHTS_K3: dict[str, list[float]] = {
    "static_80_20": [0.8, 0.1, 0.1],
    "static_50_50": THIRD,
    "static_20_80": [0.2, 0.4, 0.4],
    "gdpo": THIRD,
    "hv_meta": THIRD,
    "paretopo_paper": [0.6, 0.2, 0.2],
}
"""Weights for three objectives (accuracy first) of the overlays that carry two."""


def experiment_name(task: str, max_steps: int | None = None) -> str:
    """``fronts-<task>``, or ``fronts-<task>-steps<N>`` for a ``--max-steps N`` run."""
    return f"fronts-{task}" + ("" if max_steps is None else f"-steps{max_steps}")


def expand_methods(names: list[str]) -> list[str]:
    """Method names; a group name (``METHOD_GROUPS``) gives its methods; order kept, once."""
    out: list[str] = []
    for name in names:
        for method in METHOD_GROUPS.get(name, [name]):
            if method not in KNOWN:
                groups = ", ".join(METHOD_GROUPS)
                raise ValueError(f"unknown method {method!r}; known: {groups}, {KNOWN}")
            if method not in out:
                out.append(method)
    return out


def overlay(method: str) -> str:
    """The method's overlay: ``configs/ablations/<m>.yaml`` for an ablation, else methods/."""
    return f"configs/{'ablations' if method in ABLATIONS else 'methods'}/{method}.yaml"


def merged_value(configs: list[str], *keys: str, root: Path = REPO) -> Any:
    """The value at ``keys`` in the last of ``configs`` that sets it (None if none does)."""
    value = None
    for config in configs:
        node: Any = yaml.safe_load((root / config).read_text())
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        value = value if node is None else node
    return value


def task_objectives(task: str, root: Path = REPO) -> int:
    """K, the number of objective heads of the task's merged configs."""
    heads = merged_value(
        TASKS[task], "model", "init_args", "objectives", "init_args", "heads", root=root
    )
    if not heads:
        raise ValueError(f"task {task!r}: no objectives heads in {TASKS[task]}")
    return len(heads)


def task_policy(task: str, root: Path = REPO) -> tuple[str, str | None]:
    """(policy name_or_path, warm-start config) of the task's merged configs."""
    policy = merged_value(TASKS[task], "model", "init_args", "policy", root=root)
    return policy["name_or_path"], policy.get("warmstart")


def weight_override(method: str, k: int) -> list[float] | None:
    """The method's weights for K objectives, None where the overlay's own fit (K = 2 or a
    method without weights)."""
    if k == 2 or method not in WEIGHTS_K3:
        return None
    if k == 3:
        return WEIGHTS_K3[method]
    raise ValueError(f"{method}: no weights for K = {k} objectives (fronts_plan.WEIGHTS_K3)")


@dataclass(frozen=True)
class RunSpec:
    """One run: task, method, seed, its experiment, K, and ``logs_root`` (repo-relative)."""

    task: str
    method: str
    seed: int
    experiment: str
    k: int = 2
    logs_root: Path = Path("logs")

    @property
    def configs(self) -> list[str]:
        return TASKS[self.task]

    @property
    def overlay(self) -> str:
        return overlay(self.method)

    @property
    def weights(self) -> list[float] | None:
        return weight_override(self.method, self.k)

    @property
    def run_dir(self) -> Path:
        return self.logs_root / self.experiment / f"{self.method}-s{self.seed}"

    def __str__(self) -> str:
        return f"{self.task} {self.method} s{self.seed}"


@dataclass(frozen=True)
class Block:
    """One task x one seed x its methods' runs."""

    task: str
    seed: int
    runs: tuple[RunSpec, ...]

    def __str__(self) -> str:
        return f"{self.task} s{self.seed}"


def plan(
    tasks: list[str],
    methods: list[str],
    seeds: list[int],
    max_steps: int | None = None,
    root: Path = REPO,
) -> list[Block]:
    """Every block, seed-major (all tasks of seed 0 first), each with a run per method."""
    for task in tasks:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {list(TASKS)}")
    ks = {task: task_objectives(task, root) for task in tasks}
    return [
        Block(
            task,
            seed,
            tuple(
                RunSpec(task, m, seed, experiment_name(task, max_steps), ks[task]) for m in methods
            ),
        )
        for seed in seeds
        for task in tasks
    ]


def build_command(
    spec: RunSpec, action: str, max_steps: int | None = None, python: str = sys.executable
) -> list[str]:
    """The ``train.py fit`` command of one run; ``action`` is ``start`` or ``resume``."""
    seed = str(spec.seed)
    cmd = [python, "train.py", "fit"]
    for config in [*spec.configs, spec.overlay]:
        cmd += ["--config", config]
    if spec.weights is not None:
        cmd += [f"--model.init_args.method.weights=[{', '.join(map(str, spec.weights))}]"]
    cmd += ["--seed_everything", seed, "--model.init_args.rollout_seed", seed]
    cmd += ["--experiment", spec.experiment, "--run_name", spec.method]
    cmd += ["--trainer.enable_progress_bar=false"]  # the log is a file
    if max_steps is not None:
        cmd += [f"--trainer.max_steps={max_steps}"]
    if action == "resume":
        cmd += ["--ckpt_path", "last"]
    return cmd
