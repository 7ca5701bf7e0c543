"""Rollout throughput: the multi-turn engine beside plain ``model.generate`` (KV cache on).

    .venv/bin/python benchmarks/rollout.py [--rows 128] [--repeats 3] [--threads 1]

Model: the project's tiny random Llama (``tiny_llama_config()``, 2.65 M parameters, char
tokenizer). Rows: 16 tasks x 8 samples = 128, every prompt 11 tokens, multinomial sampling,
EOS off. Each run is timed ``--repeats`` times after one warm-up, the runs alternating so that
load drift on a shared machine hits all alike; medians of wall and process-CPU seconds.

Runs:
- ``generate 101``: ``model.generate``, 101 new tokens.
- ``engine, no tools``: ``RolloutEngine``, one turn of 101 tokens: like with like.
- ``generate 101, forced``: the forced-tool model below in one ``generate`` of 101 tokens.
- ``engine, 2 calls``: the forced-tool model in the engine. Per row: two turns of 15 sampled
  tokens then ``<calc>12*34</calc>`` (answered ``<result>408</result>`` by the real
  ``Calculator``), and a third of 15 + ``<answer>408</answer>``: 101 sampled + 40
  observation tokens, the KV cache kept across turns.
- ``engine, 2 calls, re-prefill``: the same with ``reuse_cache=False``.
- ``generate 141, forced``: one ``generate`` as long as the engine's rows (101 + 40).

The forced-tool model is the same random Llama whose logits are overridden at fixed completion
offsets, so tool calls happen at known places; its compute is the Llama's.
Overhead = (seconds per token of the run) / (seconds per token of the compared run) - 1, per
sampled token, except against ``generate 141`` where it is per row token (sampled + observed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import LlamaForCausalLM  # noqa: E402

from lightning_paretopo.policy.tiny import build_tiny_tokenizer, tiny_llama_config  # noqa: E402
from lightning_paretopo.rollout import TaggedProtocol  # noqa: E402
from lightning_paretopo.rollout.engine import RolloutEngine  # noqa: E402
from lightning_paretopo.tools import Calculator  # noqa: E402
from lightning_paretopo.types import TaskExample  # noqa: E402

FREE = 15  # sampled tokens before each forced tag
CALL, OBS, ANSWER = "<calc>12*34</calc>", "<result>408</result>", "<answer>408</answer>"
NEW_TOKENS = 2 * (FREE + len(CALL)) + FREE + len(ANSWER)  # 101 sampled tokens per row


class ForcedToolLlama(LlamaForCausalLM):
    """A random Llama that writes CALL twice, then ANSWER, each after FREE sampled tokens."""

    schedule: torch.Tensor  # [S] forced token id per completion offset, -1 = free

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        cache = kwargs.get("cache")
        seen = cache.get_seq_length() if cache is not None else 0  # slots before this call
        out = super().forward(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs
        )
        # position of the last fed token (generate may pass no position ids; its prompts are
        # unpadded), then the completion offset of the token predicted next
        last = position_ids[:, -1] if position_ids is not None else seen + input_ids.shape[1] - 1
        offset = torch.as_tensor(last + 1 - self.prompt_len).expand(input_ids.shape[0])
        offset = offset.clamp(0, len(self.schedule) - 1)
        forced = self.schedule[offset]  # [R]
        rows = (forced >= 0).nonzero().squeeze(-1)
        if len(rows):
            last = out.logits[:, -1, :]  # [R, V] (a view: edited in place)
            last[rows] = -1e9
            last[rows, forced[rows]] = 0.0
        return out


def build_schedule(tokenizer) -> torch.Tensor:
    """Forced ids per completion offset, following the engine's layout (obs offsets free)."""
    ids = lambda s: tokenizer.convert_tokens_to_ids(list(s))  # noqa: E731
    layout = []
    for tail, obs in [(CALL, OBS), (CALL, OBS), (ANSWER, "")]:
        layout += [-1] * FREE + ids(tail) + [-1] * len(obs)
    return torch.tensor(layout, dtype=torch.long)


def build_tasks() -> list[TaskExample]:
    return [TaskExample(f"t{i}", "arith", f"{10 + i}*34?", "x") for i in range(16)]


def timed_pair(fns: list, repeats: int) -> list[tuple[float, float, object]]:
    """Median wall and CPU seconds (and last output) of each fn; runs alternate so that load
    drift hits every fn alike. CPU seconds (all threads of this process) are the steadier
    measure of work on a shared machine; with --threads 1 they exclude OpenMP spin-waits."""
    for fn in fns:
        fn()  # warm-up
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for seed in range(repeats):
        for i, fn in enumerate(fns):
            torch.manual_seed(seed)
            w0, c0 = time.perf_counter(), time.process_time()
            outs[i] = fn()
            wall[i].append(time.perf_counter() - w0)
            cpu[i].append(time.process_time() - c0)
    med = statistics.median
    return [(med(w), med(c), o) for w, c, o in zip(wall, cpu, outs, strict=True)]


def measure(model, tokenizer, rows: int, repeats: int) -> dict[str, tuple]:
    """Run name -> (median wall s, median CPU s, sampled tokens, new tokens, notes)."""
    group = rows // 16
    tasks = build_tasks()
    protocol = TaggedProtocol()
    prompts = [protocol.render_prompt(t) for t in tasks for _ in range(group)]
    inputs = tokenizer(prompts, return_tensors="pt", padding=True)
    model.prompt_len = inputs["input_ids"].shape[1]
    free = torch.full((NEW_TOKENS,), -1, dtype=torch.long)
    forced = build_schedule(tokenizer)

    def plain(schedule: torch.Tensor, new_tokens: int):
        def run():
            model.schedule = schedule
            return model.generate(
                **inputs, max_new_tokens=new_tokens, do_sample=True, top_k=0,
                eos_token_id=None, pad_token_id=tokenizer.pad_token_id,
            )  # fmt: skip

        return run

    def engine_run(schedule: torch.Tensor, turns: int, reuse_cache: bool = True):
        engine = RolloutEngine(
            protocol, {"calculator": Calculator()}, max_turns=turns, max_new_tokens=NEW_TOKENS,
            max_total_tokens=512, eos_token_ids=[], reuse_cache=reuse_cache,
        )  # fmt: skip

        def run():
            model.schedule = schedule
            return engine.generate(model, tokenizer, tasks, group_size=group)

        return run

    runs = {
        "generate 101": plain(free, NEW_TOKENS),
        "engine, no tools": engine_run(free, 1),
        "generate 101, forced": plain(forced, NEW_TOKENS),
        "engine, 2 calls": engine_run(forced, 3),
        "engine, 2 calls, re-prefill": engine_run(forced, 3, reuse_cache=False),
        "generate 141, forced": plain(forced, len(forced)),
    }
    results = {}
    for name, (wall, cpu, out) in zip(runs, timed_pair(list(runs.values()), repeats), strict=True):
        if isinstance(out, torch.Tensor):
            new = (out.shape[1] - model.prompt_len) * out.shape[0]
            results[name] = (wall, cpu, new, new, "-")
        else:
            new = int(out.attention_mask.sum() - out.prompt_lengths.sum())
            notes = f"{int(out.tool_calls.sum())} calls, {int(out.truncated.sum())} truncated"
            results[name] = (wall, cpu, int(out.action_mask.sum()), new, notes)
    return results


COMPARE = {  # run -> (compared run, per which tokens)
    "engine, no tools": ("generate 101", "sampled"),
    "engine, 2 calls": ("generate 101, forced", "sampled"),
    "engine, 2 calls, re-prefill": ("generate 101, forced", "sampled"),
    "engine, 2 calls ": ("generate 141, forced", "row"),
}


def print_table(results: dict[str, tuple]) -> None:
    print(
        "| run | wall s | CPU s | sampled tokens | new row tokens | sampled tokens/s (wall) "
        "| compared with | overhead/token (wall) | overhead/token (CPU) | notes |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for name in [*results, "engine, 2 calls "]:
        wall, cpu, sampled, new, notes = results[name.strip()]
        base, per = COMPARE.get(name, (None, ""))
        cells = ["-", "-", "-"]
        if base is not None:
            b_wall, b_cpu, b_sampled, b_new, _ = results[base]
            n, b_n = (sampled, b_sampled) if per == "sampled" else (new, b_new)
            cells = [f"{base} (per {per} token)"] + [
                f"{100 * ((t / n) / (bt / b_n) - 1):+.1f}%"
                for t, bt in [(wall, b_wall), (cpu, b_cpu)]
            ]
        print(
            f"| {name.strip()} | {wall:.2f} | {cpu:.2f} | {sampled} | {new} | {sampled / wall:.0f} "
            f"| {' | '.join(cells)} | {notes} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=128, help="rollouts (multiple of 16)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = default")
    args = parser.parse_args()
    if args.rows % 16:
        raise ValueError(f"--rows must be a multiple of 16, got {args.rows}")
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    model = ForcedToolLlama(tiny_llama_config(vocab_size=len(tokenizer))).eval()
    n_params = sum(p.numel() for p in model.parameters())
    results = measure(model, tokenizer, args.rows, args.repeats)
    print(
        f"model: random tiny Llama, {n_params / 1e6:.2f} M params; rows: {args.rows}; "
        f"repeats: {args.repeats} (median); torch threads: {torch.get_num_threads()}; "
        f"load avg (1 min) after: {os.getloadavg()[0]:.2f}\n"
    )
    print_table(results)


if __name__ == "__main__":
    main()
