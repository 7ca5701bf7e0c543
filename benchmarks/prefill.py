"""The first turn's prefill with and without a group's prompt shared, interleaved.

    .venv/bin/python benchmarks/prefill.py [--policy logs/policies/tiny-arith] [--prompts 8]
        [--group 8] [--repeats 7] [--threads 1]

B arith prompts (``generate_arith``, rendered by ``TaggedProtocol`` as the engine renders them)
x G copies, fed to ``rollout.sampling._Model``: ``shared`` is ``prefill`` (each distinct prompt
fed once, cache rows copied), ``every row`` is the same call feeding all B*G rows
(``_prefill``). The two alternate ``--repeats`` times after one warm-up each; the table gives
median wall and process-CPU seconds, and whether the logits and cache agree exactly.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_paretopo.data.arith import generate_arith  # noqa: E402
from lightning_paretopo.policy.loading import load_policy  # noqa: E402
from lightning_paretopo.rollout import TaggedProtocol  # noqa: E402
from lightning_paretopo.rollout.sampling import _Model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default="logs/policies/tiny-arith")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tok = load_policy(args.policy, "float32", None)
    model.eval()
    protocol = TaggedProtocol()
    tasks = generate_arith(args.prompts, 0, split="train")
    add = protocol.add_special_tokens_to_prompt  # as the engine encodes a prompt
    prompts = [
        tok(protocol.render_prompt(t, tok), add_special_tokens=add)["input_ids"] for t in tasks
    ]
    feeds = [p for p in prompts for _ in range(args.group)]
    call, pad = _Model(model), tok.pad_token_id or 0
    runs = {"shared": lambda: call.prefill(feeds, pad, None),
            "every row": lambda: call._prefill(feeds, pad, None)}  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    with torch.no_grad():
        for run in runs.values():
            run()  # warm-up
        for _ in range(args.repeats):
            for name, run in runs.items():
                wall, cpu = time.perf_counter(), time.process_time()
                run()
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        (ls, cs, _), (lf, cf, _) = runs["shared"](), runs["every row"]()
    same = torch.equal(ls, lf) and all(
        torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)
        for a, b in zip(cs.layers, cf.layers, strict=True)
    )
    print(f"{args.policy}: {args.prompts} prompts x {args.group} copies, "
          f"{max(map(len, prompts))} prompt tokens at most, {args.threads} thread(s)")  # fmt: skip
    print("| prefill | rows fed | wall s (median) | CPU s (median) |\n|---|---:|---:|---:|")
    for name, samples in times.items():
        rows = args.prompts if name == "shared" else args.prompts * args.group
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"| {name} | {rows} | {wall:.4f} | {cpu:.4f} |")
    print(f"logits and cache identical: {same}")


if __name__ == "__main__":
    main()
