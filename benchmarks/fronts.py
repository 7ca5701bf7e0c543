"""The fronts benchmark: blocks of runs that accumulate as records, then one report.

    .venv/bin/python benchmarks/fronts.py run --tasks tradeoff --seeds 0 [--methods comparison]
        [--jobs 2] [--max-steps N] [--records-dir DIR] [--dry-run]        (make benchmark)
    .venv/bin/python benchmarks/fronts.py report [--records-dir DIR] [--out docs/results.md]

Contract of ``run``. The tasks, methods and blocks are ``benchmarks/fronts_plan.py``'s: a block
is one task x one seed x every method asked for (default ``comparison``; ``v1``,
``ablations`` or names also work), run from the task's warm start on this machine. For each
run of each block, by what exists:

- its record ``<records>/<task>/s<seed>/<method>.json`` (``benchmarks/records.py``;
  ``--max-steps N`` smoke runs: ``benchmarks/records-smoke/steps<N>/``): skipped, never re-run;
- ``summary.json`` in its run directory ``logs/fronts-<task>/<method>-s<seed>/``: recorded;
- ``checkpoints/last.ckpt``: resumed (``--ckpt_path last``); otherwise started.

Before anything runs, each task's policy is warm-started if missing (once, alone), hashed
(``provenance.policy_hash``), and every block with work is checked: its existing records, and
the launches of a run to resume, must come from this warm-start hash and this machine
(``records.check_block``); otherwise the command refuses (exit 2) naming both and runs nothing.
Every launch appends its command, git state, machine and warm start to the run directory's
``provenance.jsonl``; a run that exits 0 gets its record at once. ``--jobs`` runs go at once,
each with one torch thread and WANDB_MODE=offline, output in ``<run dir>/train.log``; a line
per start and finish gives elapsed time and ETA.

Deliberately not done: no retries of failed runs (running again resumes or restarts them).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run without an install

from benchmarks.fronts_plan import (  # noqa: E402
    TASKS,
    Block,
    RunSpec,
    build_command,
    expand_methods,
    plan,
    task_policy,
)
from benchmarks.provenance import (  # noqa: E402
    append_launch,
    launch_entry,
    machine_info,
    policy_hash,
    read_launches,
)
from benchmarks.records import (  # noqa: E402
    NOT_OURS,
    BlockMismatch,
    block_records,
    build_record,
    check_block,
    default_records_dir,
    labelled,
    record_path,
    write_record,
)

ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def decide(spec: RunSpec, records_dir: Path) -> str:
    """``recorded``, ``record`` (finished: summary.json), ``resume`` (checkpoints/last.ckpt)
    or ``start``."""
    if record_path(records_dir, spec.task, spec.seed, spec.method).is_file():
        return "recorded"
    if (spec.run_dir / "summary.json").is_file():
        return "record"
    if (spec.run_dir / "checkpoints" / "last.ckpt").is_file():
        return "resume"
    return "start"


def run_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: one thread per math library, W&B offline unless set."""
    env = dict(os.environ if base is None else base)
    env.update({name: "1" for name in ONE_THREAD}, TOKENIZERS_PARALLELISM="false")
    env.setdefault("WANDB_MODE", "offline")
    return env


def warm_starts(tasks: list[str], dry_run: bool) -> dict[str, dict]:
    """Warm-start each task's policy once if missing (not in a dry run), then hash it."""
    from lightning_paretopo.warmstart.ensure import ensure_policy

    out: dict[str, dict] = {}
    for task in tasks:
        path, warmstart = task_policy(task)
        if dry_run:
            state = "present" if (Path(path) / "config.json").is_file() else "missing: warm start"
            print(f"[plan] {task}: policy {path} ({state})", flush=True)
            continue
        if ensure_policy(path, warmstart):
            print(f"[warm start] {task}: saved {path}", flush=True)
        out[task] = policy_hash(path)
    return out


def check_blocks(
    todo: list[tuple[Block, list[tuple[RunSpec, str]]]], records_dir: Path, ws: dict[str, dict]
) -> list[str]:
    """The refusals (``records.check_block``) of the blocks with work; empty when all agree."""
    machine, problems = machine_info(), []
    for block, runs in todo:
        here = {"warm_start": ws[block.task], "machine": machine}
        try:
            existing = labelled(block_records(records_dir, block.task, block.seed))
            check_block(existing, here, "this machine and warm start", str(block))
            for spec, action in runs:
                launches = read_launches(spec.run_dir) if action in ("resume", "record") else []
                if action == "record" and not launches:
                    problems.append(f"block {block}: {spec.run_dir} {NOT_OURS}")
                for launch in launches:
                    label = f"its launch of {launch['time']}"
                    check_block({label: launch}, here, f"the {action} of {spec}", str(block))
        except BlockMismatch as error:
            problems.append(str(error))
    return problems


def finish(spec: RunSpec, records_dir: Path, max_steps: int | None) -> Path:
    """Write the record of a finished run; returns its path."""
    record = build_record(spec.run_dir, spec.task, spec.seed, spec.method, max_steps)
    return write_record(records_dir, record)


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{s:02d}s"


def _progress(t0: float, durations: list[float], left: int, total: int, jobs: int) -> str:
    """``"3/30 done, elapsed 9m12s, ETA 1h05m"``: ETA = mean run time x runs left / jobs."""
    eta = _clock(sum(durations) / len(durations) * left / jobs) if durations else "?"
    return f"{total - left}/{total} done, elapsed {_clock(time.perf_counter() - t0)}, ETA {eta}"


def _exit(spec: RunSpec, rc: int, started: float) -> float:
    wall = time.perf_counter() - started
    append_launch(spec.run_dir, {"event": "exit", "rc": rc, "wall_s": round(wall, 1)})
    return wall


def launch(
    todo: list[tuple[RunSpec, str]],
    jobs: int,
    max_steps: int | None,
    ws: dict[str, dict],
    records_dir: Path,
) -> int:
    """Run ``(spec, action)`` pairs, ``jobs`` at a time, each recorded when it exits 0;
    returns the number that failed (a non-zero exit or no record)."""
    pending, running, durations, failed = list(todo), [], [], 0
    t0, total = time.perf_counter(), len(todo)
    try:
        while pending or running:
            while pending and len(running) < jobs:
                spec, action = pending.pop(0)
                cmd = build_command(spec, action, max_steps)
                append_launch(spec.run_dir, launch_entry(cmd, action, REPO, ws[spec.task]))
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
                durations.append(_exit(spec, proc.returncode, started))
                state = f"FAILED rc={proc.returncode}, see {spec.run_dir / 'train.log'}"
                if proc.returncode == 0:
                    try:
                        state = f"ok, recorded {finish(spec, records_dir, max_steps)}"
                    except (OSError, ValueError, KeyError, BlockMismatch) as error:
                        state = f"FAILED to record: {error}"
                failed += not state.startswith("ok")
                progress = _progress(t0, durations, len(pending) + len(running), total, jobs)
                print(f"[done] {spec} {state} in {_clock(durations[-1])}; {progress}", flush=True)
    finally:
        for spec, proc, log, started in running:  # interrupted: stop the runs this call started
            proc.terminate()
            _exit(spec, proc.wait(), started)
            log.close()
    return failed


def cmd_run(args: argparse.Namespace) -> int:
    """The ``run`` subcommand; returns the exit status (1: a run failed, 2: refused)."""
    blocks = plan(args.tasks, expand_methods(args.methods), args.seeds, args.max_steps)
    records_dir = args.records_dir or default_records_dir(args.max_steps)
    todo = []
    for block in blocks:
        runs = [(spec, decide(spec, records_dir)) for spec in block.runs]
        if any(action != "recorded" for _, action in runs):
            todo.append((block, [(s, a) for s, a in runs if a != "recorded"]))
    counts = {
        a: sum(b == a for _, rs in todo for _, b in rs) for a in ("start", "resume", "record")
    }
    n_methods = len(blocks[0].runs) if blocks else 0
    runs_line = ", ".join(f"{n} to {a}" for a, n in counts.items())
    print(
        f"{len(blocks)} block(s) of {n_methods} method(s): {len(blocks) - len(todo)} recorded "
        f"(skipped), {len(todo)} with work; runs: {runs_line}; records in {records_dir}",
        flush=True,
    )
    ws = warm_starts(sorted({b.task for b, _ in todo}, key=list(TASKS).index), args.dry_run)
    if args.dry_run:
        for _, runs in todo:
            for spec, action in runs:
                what = (
                    "record"
                    if action == "record"
                    else shlex.join(build_command(spec, action, args.max_steps))
                )
                print(f"[plan] {spec} {action}: {what}")
        return 0
    problems = check_blocks(todo, records_dir, ws)
    if problems:
        print("refused, nothing was run:\n" + "\n".join(f"- {p}" for p in problems), flush=True)
        return 2
    finished = [spec for _, runs in todo for spec, action in runs if action == "record"]
    for spec in finished:
        print(f"[record] {spec}: {finish(spec, records_dir, args.max_steps)}", flush=True)
    runs = [(s, a) for _, rs in todo for s, a in rs if a != "record"]
    failed = launch(runs, args.jobs, args.max_steps, ws, records_dir)
    print(
        f"finished: {len(runs) - failed} ok, {failed} failed; {len(finished)} recorded without running",
        flush=True,
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]``) and run ``run`` or ``report``; returns the exit status.

    Both subcommands take the same flags (so ``make benchmark ARGS=...`` can pass one set):
    ``report`` reads ``--records-dir`` / ``--max-steps`` for its records, and ``--tasks``,
    ``--methods``, ``--seeds`` as filters.
    """
    from benchmarks.fronts_doc import add_report_arguments, cmd_report

    argv = sys.argv[1:] if argv is None else argv
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tasks", nargs="+", choices=list(TASKS), help="run: all tasks")
    common.add_argument("--methods", nargs="+", help="names, comparison, v1, ablations")
    common.add_argument("--seeds", nargs="+", type=int, help="run: 0 1 2")
    common.add_argument("--max-steps", type=int, help="smoke runs: own experiment and records")
    common.add_argument("--records-dir", type=Path, help="default benchmarks/records")
    common.add_argument("--jobs", type=int, default=2, help="run: at once, one thread each")
    common.add_argument("--dry-run", action="store_true", help="run: print the plan only")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[common], help="run the blocks not yet recorded")
    add_report_arguments(sub.add_parser("report", parents=[common], help="docs/results.md"))
    args = parser.parse_args(argv)
    try:
        expand_methods(args.methods or [])
    except ValueError as error:
        parser.error(str(error))
    if args.records_dir is not None:
        args.records_dir = args.records_dir.resolve()  # before the chdir below
    if args.command == "report":
        return cmd_report(args, argv)
    os.chdir(REPO)  # configs, train.py and logs/ are relative to the repository root
    args.tasks = args.tasks or list(TASKS)
    args.methods, args.seeds = args.methods or ["comparison"], args.seeds or [0, 1, 2]
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
