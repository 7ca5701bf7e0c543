"""Wall time of the Pareto core: sorting, hypervolume, and the per-step stage-1 machinery.

Run from the repository root:

    .venv/bin/python benchmarks/pareto_ops.py [--repeats 30]

Prints markdown tables of the median wall time (ms) over repeats (fewer repeats for calls
slower than ~0.5 s). Archives are non-dominated sets: random directions in the positive
orthant scaled onto the sphere of radius 0.8 (no point of a sphere dominates another).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run without an install

import botorch  # noqa: E402
from botorch.utils.multi_objective.box_decompositions.dominated import (  # noqa: E402
    DominatedPartitioning,
)
from botorch.utils.multi_objective.hypervolume import Hypervolume  # noqa: E402

from lightning_paretopo.pareto import (  # noqa: E402
    HypervolumeWeights,
    hypervolume,
    hypervolume_contribution,
    hypervolume_gradient,
    nan_mean_point,
    non_dominated_ranks,
)

F64 = torch.float64


def median_ms(
    fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None
) -> float:
    """Median wall time of ``fn`` in ms; ``setup`` runs untimed before every call."""
    times: list[float] = []
    budget_end = time.perf_counter() + 20.0
    for i in range(repeats + 1):  # the first call warms caches and is dropped
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        if i > 0:
            times.append(time.perf_counter() - start)
        if i >= 3 and time.perf_counter() > budget_end:
            break
    return 1e3 * statistics.median(times)


def sphere_front(n: int, K: int, gen: torch.Generator, radius: float = 0.8) -> torch.Tensor:
    """[n, K] mutually non-dominated points on a sphere in the positive orthant."""
    d = torch.rand(n, K, generator=gen, dtype=F64) + 0.05
    return radius * d / d.norm(dim=1, keepdim=True)


def rewards(B: int, G: int, gen: torch.Generator) -> torch.Tensor:
    """[B, G, 3] normalised rewards: accuracy {0,1}, tool efficiency 1 - m/4, brevity in [0,1]."""
    acc = (torch.rand(B, G, generator=gen) < 0.5).to(F64)
    eff = 1.0 - torch.randint(0, 5, (B, G), generator=gen).to(F64) / 4
    brevity = torch.rand(B, G, generator=gen, dtype=F64)
    return torch.stack([acc, eff, brevity], dim=-1)


def prepared_weights(n: int, K: int, gen: torch.Generator, incremental: bool):
    """A HypervolumeWeights whose archive holds ``n`` front points, and a reset function.

    The EMA point sits on the front; the benchmarked batch point lies beyond it, so every
    timed step adds a point (the worst case: contribution or BoTorch recompute, then g).
    """
    hw = HypervolumeWeights(K, incremental_hv=incremental)
    front = sphere_front(n, K, gen)
    direction = torch.full((K,), 1.0 / math.sqrt(K), dtype=F64)
    state = hw.state_dict()
    state["ema_point"] = 0.8 * direction
    state["step_count"] = 10
    state["archive"] = {
        "ref": torch.zeros(K, dtype=F64),
        "points": front,
        "hypervolume": hypervolume(front, torch.zeros(K, dtype=F64)),
    }
    batch_point = 0.9 * direction
    return hw, (lambda: hw.load_state_dict(state)), batch_point


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def bench_ranks(repeats: int, gen: torch.Generator) -> str:
    rows = []
    for B, G in [(256, 8), (256, 16), (256, 64), (64, 16)]:
        R = rewards(B, G, gen)
        rows.append(
            [f"[{B}, {G}, 3]", f"{median_ms(lambda R=R: non_dominated_ranks(R), repeats):.3f}"]
        )
    return table(["non_dominated_ranks input", "median ms"], rows)


def bench_hypervolume(repeats: int, gen: torch.Generator) -> str:
    rows = []
    for K in (2, 3):
        for n in (10, 100, 1000):
            front, ref = sphere_front(n, K, gen), torch.zeros(K, dtype=F64)
            x, p = 0.85 * torch.full((K,), 1 / math.sqrt(K), dtype=F64), front[n // 2]
            cells = [
                median_ms(lambda f=front, r=ref: hypervolume(f, r), repeats),
                median_ms(lambda f=front, x=x, r=ref: hypervolume_contribution(f, x, r), repeats),
                median_ms(lambda f=front, p=p, r=ref: hypervolume_gradient(f, p, r), repeats),
            ]
            for incremental in (True, False):
                hw, reset, batch_point = prepared_weights(n, K, gen, incremental)
                step = lambda hw=hw, b=batch_point: (hw.step(b), hw.hypervolume)  # noqa: E731
                cells.append(median_ms(step, repeats, setup=reset))
            rows.append([str(K), str(n), *(f"{c:.3f}" for c in cells)])
    header = [
        "K",
        "archive",
        "hypervolume (BoTorch)",
        "contribution",
        "gradient",
        "step, incremental HV",
        "step, BoTorch HV",
    ]
    return table(header, rows)


def bench_backends(repeats: int, gen: torch.Generator) -> str:
    """BoTorch's two exact HV routes on fronts of n points: where ``hypervolume`` switches."""
    rows = []
    for K in (2, 3, 4):
        ref = torch.zeros(K, dtype=F64)
        for n in (4, 8, 16, 32, 64):
            Y = sphere_front(n, K, gen)
            sweep = median_ms(lambda Y=Y, r=ref: Hypervolume(r).compute(Y), repeats)
            boxes = median_ms(
                lambda Y=Y, r=ref: DominatedPartitioning(ref_point=r, Y=Y).compute_hypervolume(),
                repeats,
            )
            rows.append([str(K), str(n), f"{sweep:.3f}", f"{boxes:.3f}"])
    return table(["K", "front", "Hypervolume class", "DominatedPartitioning"], rows)


def bench_per_step(repeats: int, gen: torch.Generator) -> str:
    rows = []
    R = rewards(64, 16, gen)  # [B, G, K]
    for n in (10, 100, 1000):
        for incremental in (True, False):
            hw, reset, _ = prepared_weights(n, 3, gen, incremental)

            def whole_step(hw=hw) -> None:
                non_dominated_ranks(R)  # stage 2 sorting, [64, 16]
                p_t = nan_mean_point(R.reshape(-1, 3))  # [3], ~(0.5, 0.5, 0.5): beyond the front
                hw.step(p_t)
                _ = hw.hypervolume  # logged every step

            ms = median_ms(whole_step, repeats, setup=reset)
            rows.append(
                [
                    str(n),
                    "incremental (default)" if incremental else "BoTorch on change",
                    f"{ms:.3f}",
                    "yes" if ms < 5.0 else "no",
                ]
            )
    return table(["archive", "archive HV", "whole step ms", "< 5 ms"], rows)


def machine() -> str:
    model = platform.processor() or "unknown"
    if os.path.exists("/proc/cpuinfo"):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"CPU: {model}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), botorch {botorch.__version__}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per cell")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(machine(), "\n")
    print("### Non-dominated sorting (K = 3)\n")
    print(bench_ranks(args.repeats, gen), "\n")
    print("### BoTorch hypervolume routes (ms)\n")
    print(bench_backends(args.repeats, gen), "\n")
    print("### Hypervolume, contribution, gradient, HypervolumeWeights.step (ms)\n")
    print(bench_hypervolume(args.repeats, gen), "\n")
    print("### Whole per-step Pareto cost, B = 64, G = 16, K = 3\n")
    print(bench_per_step(args.repeats, gen), "\n")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
