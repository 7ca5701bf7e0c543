"""The training loops ``step_vs_trl.py`` interleaves, each run in its own thread under the baton
and clock of ``step_clock.py``. Every loop does ``len(rounds)`` steps; step r trains on the
prompts ``rounds[r]`` (B tasks, G samples each), from the same policy directory.

- ``run_paretopo``: this project's real step: ``ParetoPOModule.training_step`` under a Lightning
  ``Trainer`` (ParetoPO, accuracy + tool efficiency, AdamW, the default loss), the rollout
  engine with the calculator and ``max_turns`` turns.
- ``run_trl``: TRL's ``GRPOTrainer`` (``trainer.train()``, one step per B x G completions):
  the same sizes, sampling (T = 1, no top-p/top-k), learning rate, clipping (0.2), grad-norm
  clip (1.0), token-mean loss ("dapo"), no KL; rewards are plain callables of the same two
  objectives (summed). Its ``generate`` gets the markup's stop strings (and pads with EOS, so
  TRL's EOS mask ends each completion there), so it samples what a single turn samples.
- ``run_floor``: the naive floor: one ``model.generate`` (same stop strings), then one
  forward/backward of a token-mean surrogate over the padded batch and an AdamW step.

Not done: tools in TRL (TRL's tool loop needs a chat template; the multi-turn comparison is
this project's step with and without tool turns).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import torch
from lightning import Callback, LightningDataModule, Trainer
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM, AutoTokenizer

from benchmarks.step_clock import StepClock, hook_forward, hook_optimizer, timed
from lightning_paretopo.args import LossArgs, PolicyArgs, RolloutArgs
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.policy.logprobs import token_logprobs
from lightning_paretopo.rollout import TaggedProtocol
from lightning_paretopo.types import TaskExample

PROTOCOL = TaggedProtocol()


def _completion_tokens(out: torch.Tensor, width: int, eos: int) -> torch.Tensor:
    """[R] sampled tokens per row of ``generate``'s output: up to and including the first EOS."""
    comp = out[:, width:]  # [R, C]
    is_eos = comp == eos
    first = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1, comp.shape[1])  # [R]
    return first


def _counted_generate(model, clock: StepClock, tokenizer, eos: int):
    """``model.generate`` with the markup's stop strings, charged to "generation" and counting
    the sampled tokens ("sampled")."""
    generate = model.generate

    def run(*args, **kwargs):
        t0 = time.perf_counter()
        kwargs |= {"tokenizer": tokenizer, "stop_strings": PROTOCOL.stop_strings}
        out = generate(*args, **kwargs)
        clock.add("generation", time.perf_counter() - t0)
        width = kwargs["input_ids"].shape[1]
        clock.count("sampled", float(_completion_tokens(out, width, eos).sum()))
        return out

    return run


class _Rounds(LightningDataModule):
    """The prompts of each step as a list of ``TaskExample``s, untouched by device transfer."""

    def __init__(self, rounds: list[list[TaskExample]]) -> None:
        super().__init__()
        self.rounds = rounds

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.rounds, batch_size=None, shuffle=False, collate_fn=lambda x: x)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch


def run_paretopo(name: str, policy: Path, rounds: list[list[TaskExample]], G: int,
                 new_tokens: int, max_turns: int, lr: float, clock: StepClock,
                 before: bool = False) -> None:  # fmt: skip
    """This project's training step (module docstring); ``before``: as it was before issue 16
    (finished rows ride along to the turn's end; one micro-batch as wide as the batch)."""
    module = ParetoPOModule(
        policy=PolicyArgs(name_or_path=str(policy)),
        rollout=RolloutArgs(
            group_size=G, max_turns=max_turns, max_new_tokens=new_tokens, max_total_tokens=512
        ),
        loss=LossArgs(max_padding=None) if before else LossArgs(),
        tool_specs={"calculator": {}},
        optimizer=lambda params: torch.optim.AdamW(params, lr=lr, weight_decay=0.0),
    )

    class Probe(Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            hook_forward(pl_module.policy, clock)
            hook_optimizer(trainer.optimizers[0], clock)
            count = lambda b: clock.count("sampled", float(b.action_mask.sum()))  # noqa: E731
            engine = pl_module.engine
            engine.drop_finished = not before
            engine.generate = timed(engine.generate, clock, "generation", after=count)
            pl_module.manual_backward = timed(pl_module.manual_backward, clock, "backward")

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            clock.begin(name)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            clock.end(name)

    trainer = Trainer(
        accelerator="cpu", devices=1, max_steps=len(rounds), logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        limit_val_batches=0, num_sanity_val_steps=0, callbacks=[Probe()],
    )  # fmt: skip
    trainer.fit(module, datamodule=_Rounds(rounds))


def _rewards():
    """TRL reward callables: accuracy and tool efficiency (budget 4), as the project's heads."""

    def accuracy(completions, answer, **_):
        return [
            float(PROTOCOL.extract_answer(c) == a) for c, a in zip(completions, answer, strict=True)
        ]

    def tool_efficiency(completions, **_):
        return [1.0 - min(c.count("<calc>"), 4) / 4 for c in completions]

    return [accuracy, tool_efficiency]


def run_trl(name: str, policy: Path, rounds: list[list[TaskExample]], G: int,
            new_tokens: int, lr: float, clock: StepClock) -> None:  # fmt: skip
    """TRL's GRPOTrainer step (module docstring)."""
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(policy)
    model = AutoModelForCausalLM.from_pretrained(policy)
    eos = tokenizer.eos_token_id
    model.generate = _counted_generate(model, clock, tokenizer, eos)
    hook_forward(model, clock)
    rows = [{"prompt": PROTOCOL.render_prompt(t), "answer": t.answer} for r in rounds for t in r]

    class Probe(TrainerCallback):
        def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
            hook_optimizer(getattr(optimizer, "optimizer", optimizer), clock)

        def on_step_begin(self, args, state, control, **kwargs):
            clock.begin(name)

        def on_step_end(self, args, state, control, **kwargs):
            clock.end(name)

    out = tempfile.mkdtemp(prefix="trl-bench-")  # save_strategy "no": nothing is written
    config = GRPOConfig(
        output_dir=out, per_device_train_batch_size=len(rounds[0]) * G,
        num_generations=G, max_completion_length=new_tokens, temperature=1.0, top_p=1.0, top_k=0,
        learning_rate=lr, lr_scheduler_type="constant", weight_decay=0.0, optim="adamw_torch",
        beta=0.0, epsilon=0.2, loss_type="dapo", max_grad_norm=1.0, max_steps=len(rounds),
        shuffle_dataset=False, logging_steps=10**6, report_to="none", save_strategy="no",
        use_cpu=True, bf16=False, seed=0, disable_tqdm=True, dataloader_num_workers=0,
        generation_kwargs={"pad_token_id": eos},
    )  # fmt: skip
    trainer = GRPOTrainer(model=model, reward_funcs=_rewards(), args=config,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                          callbacks=[Probe()])  # fmt: skip
    trainer.remove_callback(PrinterCallback)  # its end-of-train metrics line
    trainer.accelerator.backward = timed(trainer.accelerator.backward, clock, "backward")
    trainer.train()
    shutil.rmtree(out, ignore_errors=True)


def run_floor(name: str, policy: Path, rounds: list[list[TaskExample]], G: int,
              new_tokens: int, lr: float, clock: StepClock) -> None:  # fmt: skip
    """Plain generate + one forward/backward + AdamW (module docstring)."""
    tokenizer = AutoTokenizer.from_pretrained(policy)  # left padding
    model = AutoModelForCausalLM.from_pretrained(policy)
    eos = tokenizer.eos_token_id
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    hook_forward(model, clock)
    hook_optimizer(opt, clock)
    generate = _counted_generate(model, clock, tokenizer, eos)
    for tasks in rounds:
        clock.begin(name)
        prompts = [PROTOCOL.render_prompt(t) for t in tasks for _ in range(G)]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = generate(**inputs, max_new_tokens=new_tokens, do_sample=True, top_k=0,
                           pad_token_id=eos, eos_token_id=eos)  # fmt: skip
        width = inputs["input_ids"].shape[1]
        lengths = _completion_tokens(out, width, eos)  # [R]
        cols = torch.arange(out.shape[1] - width)
        action = (cols[None, :] < lengths[:, None]).float()  # [R, C]
        mask = torch.cat([inputs["attention_mask"], action.long()], dim=1)  # [R, P + C]
        logp = token_logprobs(model, out, mask)[:, width:]  # [R, C]
        adv = torch.randn(len(prompts), 1)  # [R, 1] a stand-in advantage
        loss = -(logp * adv * action).sum() / action.sum().clamp_min(1)
        t0 = time.perf_counter()
        loss.backward()
        clock.add("backward", time.perf_counter() - t0)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        clock.end(name)
