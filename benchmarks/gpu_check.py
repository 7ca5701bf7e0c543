"""GPU check: one real rollout + update step of a Qwen2.5-1.5B-shaped policy at the GSM8K config's
sizes, timed; prints tokens/s, step time, MFU and peak memory.

    .venv/bin/python benchmarks/gpu_check.py            # one GPU (sized for < 8 min on an H200; untimed)
    .venv/bin/python benchmarks/gpu_check.py --tiny     # CPU smoke: the same path, shrunk sizes

No hub, no weights: the model is ``Qwen2ForCausalLM`` built from Qwen2.5-1.5B's config (28
layers, hidden 1536, MLP 8960, 12 heads / 2 KV heads, vocab 151936, tied embeddings) with random
weights, saved to a temporary directory with a character tokenizer padded to the same vocab
(``<pad> <bos> <eos> <unk>``, printable ASCII, then filler tokens), and trained by this project's
own path: ``ParetoPOModule`` under a Lightning ``Trainer`` (bf16-true), policy loading with LoRA
(r 16, alpha 32, the 7 projections) and gradient checkpointing, the rollout engine (tagged
markup, calculator), ParetoPO advantages, ``policy_update`` (micro-batches of 8 rows, AdamW).
Sizes from configs/gsm8k_qwen2.5-1.5b_lora.yaml: 8 prompts x 8 rollouts, 512 new tokens per
turn, 2048 tokens per row; prompts are ~300 characters (a system text and a question), one
token each.

A random model neither stops nor calls a tool: every row samples its whole 512-token first turn
(the decode-heavy case) and the tool turns are not exercised.

MFU = model FLOPs / (time x peak bf16 dense FLOP/s of the device: H100 and H200 989 TFLOP/s,
A100 312; ``--peak-tflops`` otherwise). Model FLOPs: 2 N per sampled token and 4 N per trained
token (forward and activation gradients; LoRA's own weight gradients and the recomputation of
gradient checkpointing not counted), N the base parameters, plus causal attention (4 L d c per
token at context c, doubled in training).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run without an install

import torch  # noqa: E402
from lightning import Callback, LightningDataModule, Trainer  # noqa: E402
from tokenizers import Tokenizer, decoders, models, processors  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM  # noqa: E402

import lightning_paretopo.module as module_code  # noqa: E402
from lightning_paretopo.args import LossArgs, PolicyArgs, RolloutArgs  # noqa: E402
from lightning_paretopo.module import ParetoPOModule  # noqa: E402
from lightning_paretopo.types import TaskExample  # noqa: E402

QWEN25_15B = {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
              "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936,
              "max_position_embeddings": 32768, "rope_theta": 1e6, "rms_norm_eps": 1e-6,
              "tie_word_embeddings": True}  # fmt: skip
TINY = QWEN25_15B | {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512}  # fmt: skip
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}  # fmt: skip
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}
SYSTEM = ("You are a careful math assistant. Think step by step, use the calculator for any "
          "arithmetic you are not sure of, and end with the final answer in answer tags. ")  # fmt: skip


def char_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """Characters (printable ASCII, newline) after 4 specials, then fillers up to vocab_size."""
    specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    vocab |= {f"\u27e8{i}\u27e9": i for i in range(len(vocab), vocab_size)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", fuse_unk=False))
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
        unk_token="<unk>", padding_side="left", clean_up_tokenization_spaces=False,
    )  # fmt: skip


def save_policy(config: dict, path: Path) -> int:
    """A random bf16 Qwen2 of ``config`` and its tokenizer in ``path``; returns N parameters."""
    torch.manual_seed(0)
    cfg = Qwen2Config(**config, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(path)
    char_tokenizer(config["vocab_size"]).save_pretrained(path)
    return sum(p.numel() for p in model.parameters())


class Rounds(LightningDataModule):
    """``steps`` batches of ``prompts`` tasks with ~300-character prompts."""

    def __init__(self, prompts: int, steps: int, chars: int) -> None:
        super().__init__()
        tasks = [TaskExample(f"q{i}", "arith", (SYSTEM * 4)[: chars - 40] + f" What is {i}*7+3?",
                             str(i * 7 + 3)) for i in range(prompts * steps)]  # fmt: skip
        self.rounds = [tasks[i * prompts : (i + 1) * prompts] for i in range(steps)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.rounds, batch_size=None, collate_fn=lambda x: x)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch


class StepTimer(Callback):
    """Per step: wall, generation and update seconds, sampled and trained tokens (synchronised)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, float]] = []

    @staticmethod
    def _sync() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def _timed(self, fn, key: str, count=None):
        def run(*args, **kwargs):
            self._sync()
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            self._sync()
            self.steps[-1][key] = time.perf_counter() - t0
            if count is not None:
                self.steps[-1] |= count(out)
            return out

        return run

    def on_train_start(self, trainer, pl_module) -> None:
        def count(batch):
            lengths = batch.attention_mask.sum(1).float()  # [N]
            ctx = (batch.attention_mask.cumsum(1) * batch.action_mask).sum()  # sum of contexts
            return {"sampled": float(batch.action_mask.sum()), "trained": float(lengths.sum()),
                    "ctx_sampled": float(ctx), "sq_len": float((lengths**2).sum())}  # fmt: skip

        engine = pl_module.engine
        engine.generate = self._timed(engine.generate, "generation", count)
        self._update = module_code.policy_update  # restored in teardown
        module_code.policy_update = self._timed(self._update, "update")

    def teardown(self, trainer, pl_module, stage: str) -> None:
        if getattr(self, "_update", None) is not None:
            module_code.policy_update, self._update = self._update, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._sync()
        self.steps.append({"start": time.perf_counter()})

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._sync()
        self.steps[-1]["step"] = time.perf_counter() - self.steps[-1].pop("start")


def model_flops(step: dict[str, float], n: int, layers: int, hidden: int) -> float:
    """Model FLOPs of one step (module docstring)."""
    decode = 2 * n * step["sampled"] + 4 * layers * hidden * step["ctx_sampled"]
    train = 2 * (2 * n * step["trained"] + 2 * layers * hidden * step["sq_len"])
    return decode + train


def peak_flops(args: argparse.Namespace) -> tuple[float | None, str]:
    if args.peak_tflops:
        return args.peak_tflops * 1e12, f"{args.peak_tflops} TFLOP/s (given)"
    if not torch.cuda.is_available():
        return None, "n/a on CPU"
    name = torch.cuda.get_device_name()
    for key, tflops in PEAK_TFLOPS.items():
        if key in name:
            return tflops * 1e12, f"{name}: {tflops} TFLOP/s bf16 dense"
    return None, f"{name}: unknown peak (pass --peak-tflops)"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU smoke: shrunk model and sizes")
    parser.add_argument("--steps", type=int, default=2, help="timed steps (after one warm-up)")
    parser.add_argument("--peak-tflops", type=float, default=None)
    args = parser.parse_args(argv)
    config = TINY if args.tiny else QWEN25_15B
    B, G, new, total, chars = (2, 2, 8, 128, 60) if args.tiny else (8, 8, 512, 2048, 300)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        n = save_policy(config, Path(tmp))
        module = ParetoPOModule(
            policy=PolicyArgs(name_or_path=tmp, dtype="bfloat16", lora=LORA,
                              gradient_checkpointing=True),
            rollout=RolloutArgs(group_size=G, max_turns=4, max_new_tokens=new, max_total_tokens=total),
            loss=LossArgs(micro_batch_size=8), tool_specs={"calculator": {}},
            optimizer=lambda params: torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0),
        )  # fmt: skip
        timer = StepTimer()
        trainer = Trainer(accelerator="auto", devices=1, precision="bf16-true",
                          max_steps=1 + args.steps, logger=False, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False,
                          limit_val_batches=0, num_sanity_val_steps=0, callbacks=[timer])  # fmt: skip
        trainer.fit(module, datamodule=Rounds(B, 1 + args.steps, chars))
    timed = timer.steps[1:]
    med = {k: statistics.median(s[k] for s in timed) for k in timed[0]}
    flops = statistics.median(
        model_flops(s, n, config["num_hidden_layers"], config["hidden_size"]) / s["step"]
        for s in timed
    )
    peak, peak_text = peak_flops(args)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    memory = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    print(f"device: {device}; model: Qwen2 {n / 1e6:.1f} M params (random, bf16), LoRA r=16; "
          f"{B} prompts x {G} rollouts, {new} new tokens, {args.steps} timed steps (medians)")  # fmt: skip
    print(f"step {med['step']:.2f} s = generation {med['generation']:.2f} s + update "
          f"{med['update']:.2f} s + other {med['step'] - med['generation'] - med['update']:.2f} s")  # fmt: skip
    print(f"generation: {med['sampled'] / med['generation']:.0f} sampled tokens/s "
          f"({med['sampled']:.0f} tokens); update: {med['trained'] / med['update']:.0f} trained "
          f"tokens/s ({med['trained']:.0f} tokens)")  # fmt: skip
    mfu = flops / peak if peak else float("nan")
    print(f"model FLOP/s {flops / 1e12:.2f} T; MFU {100 * mfu:.1f}% ({peak_text}); peak memory "
          f"{memory:.1f} GiB; total wall {time.perf_counter() - t_start:.0f} s")  # fmt: skip
    return med | {"mfu": mfu, "flops_per_s": flops}


if __name__ == "__main__":
    main()
