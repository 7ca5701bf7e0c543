"""One training step side by side: this project, TRL's GRPOTrainer and the naive floor, interleaved.

    .venv/bin/python benchmarks/step_vs_trl.py [--repeats 7] [--policy logs/policies/tiny-arith]
    pip install -e ".[bench]"     # TRL (pinned); without it the TRL row is skipped

Same model (the policy directory, loaded once per run), prompts (B arith tasks per step, the same
for every run at each step), sizes (G samples each, ``--new-tokens`` per turn, fp32, one torch
thread by default) and learning rate. Runs (``step_contestants.py``):

- ``paretopo``: this project's training step, one turn (the tool call of a row that calls is
  parsed and run, but no observation follows);
- ``trl``: TRL's ``GRPOTrainer`` step, stopping on the same stop strings;
- ``floor``: plain ``generate`` + one forward/backward over the padded batch + AdamW;
- ``paretopo multi-turn``: the project's step with up to ``--turns`` turns and the calculator
  (observations appended): the multi-turn row, against ``paretopo`` (the step without tools);
- ``paretopo before #16`` (``--before``): the single-turn step with finished rows riding along
  and one micro-batch as wide as the batch, as before issue 16.

Every run is a thread that does ``--warmup`` + ``--repeats`` steps; a baton makes them take
turns step by step (``step_clock.py``), so load drift on a shared machine hits every run alike
and no two steps overlap. Reported: per-step medians over the repeats of wall seconds, this
thread's CPU seconds, sampled tokens, token slots fed to the training forward (padding
included), and the parts: generation, forward (with grad), backward, optimizer, and rest (the
step's other time: rewards, advantages, loss arithmetic, clipping, bookkeeping). Ratios are of
median step wall times (and CPU times, the steadier measure on a shared machine), also per
sampled token (the runs sample different numbers of tokens).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import traceback
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run without an install

import torch  # noqa: E402

from benchmarks.step_clock import PARTS, Baton, StepClock  # noqa: E402
from lightning_paretopo.data.arith import generate_arith  # noqa: E402

COLUMNS = ("wall", "cpu", "sampled", "fed", *PARTS)


def _rounds(prompts: int, steps: int, seed: int) -> list[list]:
    tasks = generate_arith(prompts * steps, seed=seed)
    return [tasks[i * prompts : (i + 1) * prompts] for i in range(steps)]


def _trl_available() -> bool:
    try:
        import trl  # noqa: F401
    except ImportError:
        return False
    return True


def run_all(args: argparse.Namespace, policy: Path) -> tuple[StepClock, dict[str, str]]:
    """Run every contestant interleaved; returns the clock and the errors by run name."""
    from benchmarks import step_contestants as c

    rounds = _rounds(args.prompts, args.warmup + args.repeats, args.seed)
    common = {"policy": policy, "rounds": rounds, "G": args.group, "new_tokens": args.new_tokens}
    common["lr"] = args.lr
    runs = {"paretopo": partial(c.run_paretopo, max_turns=1, **common)}
    if args.trl and _trl_available():
        runs["trl"] = partial(c.run_trl, **common)
    runs["floor"] = partial(c.run_floor, **common)
    if args.turns > 1:
        runs["paretopo multi-turn"] = partial(c.run_paretopo, max_turns=args.turns, **common)
    if args.before:
        runs["paretopo before #16"] = partial(c.run_paretopo, max_turns=1, before=True, **common)
    baton = Baton(list(runs))
    clock = StepClock(baton)
    errors: dict[str, str] = {}

    def thread(name: str, fn) -> None:
        baton.wait(name)
        try:
            fn(name=name, clock=clock)
        except BaseException:  # report it; let the other runs go on
            errors[name] = traceback.format_exc()
        finally:
            baton.leave(name)

    threads = [threading.Thread(target=thread, args=item, daemon=True) for item in runs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clock, errors


def report(clock: StepClock, skip: int) -> list[str]:
    """The table and the ratios, as markdown lines."""
    med = {name: clock.medians(name, skip) for name in clock.records}
    lines = [
        "| run | steps | step s | CPU s | sampled tokens | fed tokens | "
        + " | ".join(f"{p} s" for p in PARTS)
        + " |",
        "|---|---:|" + "---:|" * (len(COLUMNS)),
    ]
    for name, m in med.items():
        n = len(clock.records[name]) - skip
        cells = [f"{m.get(k, 0.0):.0f}" if k in ("sampled", "fed") else f"{m.get(k, 0.0):.3f}"
                 for k in COLUMNS]  # fmt: skip
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    lines.append("")
    pairs = [("paretopo", "trl"), ("paretopo", "floor"), ("trl", "floor")]
    pairs += [("paretopo multi-turn", "paretopo"), ("paretopo", "paretopo before #16")]
    for a, b in pairs:
        if a in med and b in med and med[b]["wall"] > 0:
            step, cpu = med[a]["wall"] / med[b]["wall"], med[a]["cpu"] / med[b]["cpu"]
            per_token = step * med[b].get("sampled", 0) / max(med[a].get("sampled", 0), 1)
            lines.append(f"- {a} / {b}: {step:.2f}x per step ({cpu:.2f}x in CPU s), "
                         f"{per_token:.2f}x per sampled token")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default="logs/policies/tiny-arith", help="HF policy dir")
    parser.add_argument("--prompts", type=int, default=8, help="B prompts per step")
    parser.add_argument("--group", type=int, default=8, help="G samples per prompt")
    parser.add_argument("--new-tokens", type=int, default=64, help="sampled tokens per turn")
    parser.add_argument("--turns", type=int, default=4, help="multi-turn row (1 = no such row)")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps per run")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0, help="which arith prompts")
    parser.add_argument("--no-trl", dest="trl", action="store_false", help="skip TRL")
    parser.add_argument("--before", action="store_true",
                        help="add the single-turn step as before issue 16 (rows ride along, "
                        "batch-order micro-batch)")  # fmt: skip
    args = parser.parse_args()
    policy = Path(args.policy)
    if not (policy / "config.json").is_file():
        sys.exit(f"no policy at {policy}: warm-start it first (python train.py fit --config "
                 "configs/warmstart/arith.yaml, ~5 min) or pass --policy")  # fmt: skip
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    clock, errors = run_all(args, policy)
    print(
        f"policy {policy}; B={args.prompts} prompts x G={args.group}, {args.new_tokens} new "
        f"tokens per turn, multi-turn up to {args.turns} turns; {args.repeats} timed steps "
        f"per run after {args.warmup} warm-up (medians); torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s); load average (1 min) after: "
        f"{os.getloadavg()[0]:.2f}"
    )
    if args.trl and not _trl_available():
        print("trl: not installed (pip install -e '.[bench]'); its row is skipped")
    print("\n".join(report(clock, args.warmup)))
    for name, tb in errors.items():
        print(f"\n{name} failed:\n{tb}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
