"""The fronts benchmark: every task x method x seed as a training run, then one report.

    .venv/bin/python benchmarks/fronts.py run --tasks arith kbqa --methods all ablations \\
        --seeds 0 1 2 --jobs 2 [--max-steps N] [--dry-run]         (make benchmark: all of it)
    .venv/bin/python benchmarks/fronts.py report [--out docs/results.md]   (benchmarks/fronts_doc.py)

Contract of ``run``. A task names an experiment config (``TASKS``), a method an overlay in
``configs/methods/`` (``--methods all``) or ``configs/ablations/`` (``ablations``). A run is
``python train.py fit --config <task> --config <overlay> --seed_everything S
--model.init_args.rollout_seed S --experiment fronts-<task> --run_name <method>``: it lives in
``logs/fronts-<task>/<method>-s<S>/``, apart from the user's runs (``--max-steps N`` smoke runs
use ``fronts-<task>-steps<N>``, so they never stand in for full runs). A run with
``summary.json`` is skipped, one with ``checkpoints/last.ckpt`` resumed (``--ckpt_path last``),
any other started. Each task's warm-started policy is made once, before any run starts
(``policy.ensure.ensure_policy``), so all runs of a task share it. ``--jobs`` runs go at once,
each with one torch thread and WANDB_MODE=offline, output in ``<run dir>/train.log``; a line
per start and finish gives elapsed time and ETA. Each invocation (command, machine) is appended
to ``logs/<experiment>/invocations.jsonl``, which the report quotes.

Deliberately not done: no retries of failed runs (re-running resumes or restarts them).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run without an install

from benchmarks.fronts_report import record_invocation  # noqa: E402

TASKS = {"arith": "configs/quickstart.yaml", "kbqa": "configs/kbqa_tiny.yaml"}
BASELINES = [
    "paretopo", "stage1_only", "stage2_only", "accuracy_only", "static_80_20", "static_50_50",
    "static_20_80", "gdpo", "otc", "hv_meta",
]  # fmt: skip
ABLATIONS = [
    "paretopo_no_credit", "paretopo_tie_crowding", "paretopo_tie_domination",
    "paretopo_tie_none", "paretopo_fixed_switch", "paretopo_tau_high",
]  # fmt: skip
ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def experiment_name(task: str, max_steps: int | None = None) -> str:
    """``fronts-<task>``, or ``fronts-<task>-steps<N>`` for a ``--max-steps N`` run."""
    return f"fronts-{task}" + ("" if max_steps is None else f"-steps{max_steps}")


def expand_methods(names: list[str]) -> list[str]:
    """Method names, ``all`` -> the baselines, ``ablations`` -> the ablations; order kept."""
    out: list[str] = []
    for name in names:
        group = {"all": BASELINES, "ablations": ABLATIONS}.get(name, [name])
        for method in group:
            if method not in BASELINES + ABLATIONS:
                raise ValueError(
                    f"unknown method {method!r}; known: all, ablations, {BASELINES + ABLATIONS}"
                )
            if method not in out:
                out.append(method)
    return out


@dataclass(frozen=True)
class RunSpec:
    """One run: task, method, seed, and where it lives (``logs_root`` relative to the repo)."""

    task: str
    method: str
    seed: int
    experiment: str
    logs_root: Path = Path("logs")

    @property
    def config(self) -> str:
        return TASKS[self.task]

    @property
    def overlay(self) -> str:
        folder = "methods" if self.method in BASELINES else "ablations"
        return f"configs/{folder}/{self.method}.yaml"

    @property
    def run_dir(self) -> Path:
        return self.logs_root / self.experiment / f"{self.method}-s{self.seed}"

    def __str__(self) -> str:
        return f"{self.task} {self.method} s{self.seed}"


def plan(
    tasks: list[str], methods: list[str], seeds: list[int], max_steps: int | None = None
) -> list[RunSpec]:
    """Every run, seed-major (all methods of seed 0 first), then task, then method."""
    for task in tasks:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
    return [
        RunSpec(task, method, seed, experiment_name(task, max_steps))
        for seed in seeds
        for task in tasks
        for method in methods
    ]


def decide(run_dir: Path) -> str:
    """``"skip"`` (summary.json exists), ``"resume"`` (checkpoints/last.ckpt) or ``"start"``."""
    if (run_dir / "summary.json").is_file():
        return "skip"
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return "resume"
    return "start"


def build_command(
    spec: RunSpec, action: str, max_steps: int | None = None, python: str = sys.executable
) -> list[str]:
    """The ``train.py fit`` command of one run (``action`` from ``decide``)."""
    seed = str(spec.seed)
    cmd = [python, "train.py", "fit", "--config", spec.config, "--config", spec.overlay]
    cmd += ["--seed_everything", seed, "--model.init_args.rollout_seed", seed]
    cmd += ["--experiment", spec.experiment, "--run_name", spec.method]
    cmd += ["--trainer.enable_progress_bar=false"]  # the log is a file
    if max_steps is not None:
        cmd += [f"--trainer.max_steps={max_steps}"]
    if action == "resume":
        cmd += ["--ckpt_path", "last"]
    return cmd


def run_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: one thread per math library, W&B offline unless set."""
    env = dict(os.environ if base is None else base)
    env.update({name: "1" for name in ONE_THREAD}, TOKENIZERS_PARALLELISM="false")
    env.setdefault("WANDB_MODE", "offline")
    return env


def ensure_policies(tasks: list[str], dry_run: bool) -> None:
    """Warm-start each task's policy once, alone, before any run of the task starts."""
    import yaml

    from lightning_paretopo.policy.ensure import ensure_policy

    for task in tasks:
        policy = yaml.safe_load(Path(TASKS[task]).read_text())["model"]["init_args"]["policy"]
        path, warmstart = policy["name_or_path"], policy.get("warmstart")
        if dry_run:
            state = "present" if (Path(path) / "config.json").is_file() else "missing: warm start"
            print(f"[plan] {task}: policy {path} ({state})", flush=True)
        elif ensure_policy(path, warmstart):
            print(f"[warm start] {task}: saved {path}", flush=True)


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{s:02d}s"


def _progress(t0: float, durations: list[float], left: int, total: int, jobs: int) -> str:
    """``"3/30 done, elapsed 9m12s, ETA 1h05m"``: ETA = mean run time x runs left / jobs."""
    eta = _clock(sum(durations) / len(durations) * left / jobs) if durations else "?"
    return f"{total - left}/{total} done, elapsed {_clock(time.perf_counter() - t0)}, ETA {eta}"


def launch(todo: list[tuple[RunSpec, str]], jobs: int, max_steps: int | None) -> int:
    """Run ``(spec, action)`` pairs, ``jobs`` at a time; returns the number that failed."""
    pending, running, durations, failed = list(todo), [], [], 0
    t0, total = time.perf_counter(), len(todo)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                spec, action = pending.pop(0)
                spec.run_dir.mkdir(parents=True, exist_ok=True)
                cmd = build_command(spec, action, max_steps)
                log = (spec.run_dir / "train.log").open("a")
                log.write(f"$ {shlex.join(cmd)}\n")
                log.flush()
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=run_env())
                running.append((spec, proc, log, time.perf_counter()))
                left = len(pending) + len(running)
                print(
                    f"[start] {spec} ({action}); {_progress(t0, durations, left, total, jobs)}",
                    flush=True,
                )
            time.sleep(1.0)
            for item in [r for r in running if r[1].poll() is not None]:
                spec, proc, log, started = item
                running.remove(item)
                log.close()
                durations.append(time.perf_counter() - started)
                failed += proc.returncode != 0
                state = "ok" if proc.returncode == 0 else f"FAILED rc={proc.returncode}, see "
                state += "" if proc.returncode == 0 else str(spec.run_dir / "train.log")
                progress = _progress(t0, durations, len(pending) + len(running), total, jobs)
                print(f"[done] {spec} {state} in {_clock(durations[-1])}; {progress}", flush=True)
    finally:
        for _, proc, log, _ in running:  # interrupted: stop the runs this call started
            proc.terminate()
            proc.wait()
            log.close()
    return failed


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    """The ``run`` subcommand; returns the exit status (1 when a run failed)."""
    specs = plan(args.tasks, expand_methods(args.methods), args.seeds, args.max_steps)
    missing = sorted({s.config for s in specs if not Path(s.config).is_file()})
    if missing:
        raise SystemExit(f"experiment config(s) not found: {missing}")
    todo = [(spec, decide(spec.run_dir)) for spec in specs]
    skipped = sum(action == "skip" for _, action in todo)
    todo = [(spec, action) for spec, action in todo if action != "skip"]
    print(f"{len(specs)} runs: {skipped} finished (skipped), {len(todo)} to run", flush=True)
    ensure_policies(args.tasks, args.dry_run)
    if args.dry_run:
        for spec, action in todo:
            print(f"[plan] {action}: {shlex.join(build_command(spec, action, args.max_steps))}")
        return 0
    record_invocation(sorted({s.experiment for s in specs}), argv)
    failed = launch(todo, args.jobs, args.max_steps)
    print(f"finished: {len(todo) - failed} ok, {failed} failed", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]``) and run ``run`` or ``report``; returns the exit status.

    Both subcommands take the same flags (so ``make benchmark ARGS=...`` can pass one set):
    ``report`` reads ``--tasks``, ``--max-steps``, and ``--methods`` / ``--seeds`` as filters.
    """
    from benchmarks.fronts_doc import add_report_arguments, cmd_report

    argv = sys.argv[1:] if argv is None else argv
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    common.add_argument("--methods", nargs="+", help="names, all, ablations (run: all)")
    common.add_argument("--seeds", nargs="+", type=int, help="run: 0 1 2")
    common.add_argument("--max-steps", type=int, help="smoke runs, in their own experiment")
    common.add_argument("--jobs", type=int, default=2, help="run: at once, one thread each")
    common.add_argument("--dry-run", action="store_true", help="run: print the plan only")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[common], help="train the runs not yet finished")
    add_report_arguments(sub.add_parser("report", parents=[common], help="docs/results.md"))
    args = parser.parse_args(argv)
    try:
        expand_methods(args.methods or [])
    except ValueError as error:
        parser.error(str(error))
    if args.command == "report":
        return cmd_report(args, argv)
    os.chdir(REPO)  # configs, train.py and logs/ are relative to the repository root
    args.methods, args.seeds = args.methods or ["all"], args.seeds or [0, 1, 2]
    return cmd_run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
