"""The training forward/backward with logits over every column against logits from the first
sampled column on (``token_logprobs(first=)``, what ``policy_update`` does), interleaved.

    .venv/bin/python benchmarks/logits_from_first.py [--policy logs/policies/smollm2-135m-instruct]
        [--prompt 150] [--completion 100] [--rows 4] [--repeats 5] [--threads 1]

One micro-batch of ``--rows`` random rows, ``--prompt`` prompt tokens then ``--completion``
sampled ones, no padding; the loss is the sum of the sampled tokens' log-probs. Both runs
alternate ``--repeats`` times after one warm-up each; the table gives median wall and process-CPU
seconds of forward + backward, and the largest gradient difference between the two (relative
to the largest gradient entry).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_paretopo.policy.loading import load_policy  # noqa: E402
from lightning_paretopo.policy.logprobs import token_logprobs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default="logs/policies/smollm2-135m-instruct")
    parser.add_argument("--prompt", type=int, default=150, help="prompt tokens per row")
    parser.add_argument("--completion", type=int, default=100, help="sampled tokens per row")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (Path(args.policy) / "config.json").is_file():
        sys.exit(f"no policy at {args.policy}: make smollm2 (or pass --policy)")
    torch.set_num_threads(args.threads)
    model, _ = load_policy(args.policy, "float32", None)
    model.train()
    P, C = args.prompt, args.completion
    ids = torch.randint(10, model.config.vocab_size, (args.rows, P + C),
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    mask = torch.ones_like(ids)
    grads: dict[str, list[torch.Tensor]] = {}

    def run(name: str, first: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        token_logprobs(model, ids, mask, first)[:, P:].sum().backward()
        out = time.perf_counter() - wall, time.process_time() - cpu
        grads[name] = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        model.zero_grad(set_to_none=True)
        return out

    runs = {"every column": 1, "from the first sampled": P}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for name, first in runs.items():
        run(name, first)  # warm-up
    for _ in range(args.repeats):
        for name, first in runs.items():
            times[name].append(run(name, first))
    pairs = list(zip(*grads.values(), strict=True))
    diff = max(float((a - b).abs().max()) for a, b in pairs)
    scale = max(float(b.abs().max()) for _, b in pairs)
    print(f"{args.policy}: {args.rows} rows x ({P} prompt + {C} sampled) tokens, vocabulary "
          f"{model.config.vocab_size}, {args.threads} thread(s), {args.repeats} repeats")  # fmt: skip
    print("| logits | wall s (median) | CPU s (median) |\n|---|---:|---:|")
    for name, ts in times.items():
        wall, cpu = (statistics.median(t[i] for t in ts) for i in (0, 1))
        print(f"| {name} | {wall:.3f} | {cpu:.3f} |")
    print(f"largest gradient difference: {diff / scale:.3g} of the largest gradient entry "
          f"({diff:.3g} against {scale:.3g})")  # fmt: skip


if __name__ == "__main__":
    main()
