"""Warm start: supervised fine-tuning of a policy on mixed-behaviour tool traces.

Contract:
    - ``WarmStartDataModule`` builds the traces of one task family (``warmstart.traces``) from its
      train split and yields them raw (``list[Trace]`` per batch); the module tokenizes them
      (``on_before_batch_transfer``), so the tokenizer lives in one place. Validation and test
      batches are traces of the val and test splits. ``eval_tasks()`` / ``tool_specs()`` /
      ``protocol`` give the fit-end evaluation its held-out problems, real tools and markup.
    - ``WarmStartModule`` trains with the token-mean cross-entropy over the policy's own tokens
      only (prompt and observation tokens are masked; traces packed per batch by default,
      ``warmstart.batches``), AdamW, linear warmup then cosine decay to ``min_lr_ratio``; logs
      ``train/loss``, ``val/loss``, ``test/loss`` (the learning rate: ``LearningRateMonitor``).
    - At fit end (rank zero) it saves model and tokenizer to ``output_dir`` (default
      ``logs/policies/tiny-<task>``; a LoRA policy merged into its base when ``merge_lora``,
      ``policy.saving``), with the data module's chat settings when it has them
      (``warmstart.chat``), and evaluates them with the rollout engine and the real tools
      (``warmstart.evaluate``): ``<output_dir>/warmstart_eval.md``. With ``evaluate_before`` the
      untrained policy is evaluated the same way at fit start (``warmstart_eval_before.md``).
    - The evaluation scores rollouts with ``objectives``, the reward heads of the RL config that
      loads this policy (default accuracy + tool_efficiency, as ``ParetoPOModule``'s): a sample
      is right when RL would reward it as right. A config whose RL run reads other answer
      formats gives the same ``objectives`` here. They score only: training and the saved
      policy do not depend on them (no RNG draws, no parameters).
    - Chat data (``ChatWarmStartDataModule``): prompts are tokenized without special tokens,
      as the engine tokenizes a chat prompt (the data module's ``prompt_special_tokens``).
    - Progress: when stdout is not a terminal (nohup, CI, the automatic warm start's child
      process under either), the module adds ``callbacks.progress_log.ProgressLog`` to its
      trainer (``configure_callbacks``, every ``progress_every_s`` seconds): step/total, loss,
      elapsed and ETA go through ``logging``; the evaluation logs its own progress lines.

Deliberately not done: no gradient accumulation logic of its own
(``Trainer(accumulate_grad_batches=...)`` works), no length-grouped batches (batches of one
behaviour each stalled learning; see ``train_dataloader``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Literal

import torch
from lightning import LightningModule
from lightning.pytorch.utilities import rank_zero_only

from lightning_paretopo.callbacks.progress_log import ProgressLog
from lightning_paretopo.policy.loading import is_local_path, load_policy
from lightning_paretopo.policy.saving import adapter_delta_norm, save_policy
from lightning_paretopo.policy.tiny import build_tiny_policy
from lightning_paretopo.rewards.objectives import RewardHeads
from lightning_paretopo.tools import build_tools
from lightning_paretopo.warmstart.batches import collate_traces, pack_traces
from lightning_paretopo.warmstart.chat import write_chat_settings
from lightning_paretopo.warmstart.evaluate import EvalArgs, accuracy_column, evaluate_policy
from lightning_paretopo.warmstart.task_traces import TaskTraces, build_task_traces
from lightning_paretopo.warmstart.trace_data import TraceDataModule

log = logging.getLogger(__name__)


class WarmStartDataModule(TraceDataModule):
    """Mixed-behaviour warm-start traces for one task family.

    Args:
        task: "arith" or "kbqa".
        n_train: training problems (train split); kbqa adds its fact sentences on top.
        n_val: validation problems (val split), for ``val/loss``.
        n_eval: held-out problems (test split) for the fit-end rollout evaluation and ``test``.
        seed: seeds the problems and the behaviour sampling.
        batch_size: traces per batch.
        behaviour_probs: per tier, behaviour -> probability (``"*"`` matches any tier); None
            uses the task's defaults (``task_traces.DEFAULT_BEHAVIOUR_PROBS``).
        fact_passes: passes over the task's facts (arith: the one-digit tables; kbqa: the
            well-known sentences), added as plain text; None: the task's default.
        facts_per_trace: facts packed into one text trace; None: the task's default.
        tier_weights: relative frequency of each tier among the training problems, e.g.
            ``{known: 3, mixed: 2, unknown: 1}``; None keeps the generator's mix.
        world_seed: kbqa only: the seed of the world (``data.kbqa.build_world``).
        search_k: kbqa only: passages returned per search.
        corpus_dir: kbqa only: where the world's passage corpus is written.
        num_workers: DataLoader workers.
    """

    def __init__(
        self,
        task: Literal["arith", "kbqa"] = "arith",
        n_train: int = 10000,
        n_val: int = 256,
        n_eval: int = 500,
        seed: int = 0,
        batch_size: int = 32,
        behaviour_probs: dict[str, dict[str, float]] | None = None,
        fact_passes: int | None = None,
        facts_per_trace: int | None = None,
        tier_weights: dict[str, float] | None = None,
        world_seed: int = 0,
        search_k: int = 1,
        corpus_dir: str = "logs/kbqa",
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if task not in ("arith", "kbqa"):
            raise ValueError(f"task must be 'arith' or 'kbqa', got {task!r}")
        for name, value in [("n_train", n_train), ("n_eval", n_eval), ("batch_size", batch_size)]:
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.save_hyperparameters()
        self.task = task
        self.data: TaskTraces | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            hp = self.hparams
            self.data = build_task_traces(
                hp.task, hp.n_train, hp.n_val, hp.n_eval, hp.seed, hp.behaviour_probs,
                hp.fact_passes, hp.facts_per_trace, hp.tier_weights,
                **({"world_seed": hp.world_seed, "search_k": hp.search_k,
                    "corpus_dir": hp.corpus_dir} if hp.task == "kbqa" else {}),
            )  # fmt: skip
            log.info("warm-start %s traces: %s", self.task, self.data.summary())


class WarmStartModule(LightningModule):
    """SFT of a policy on warm-start traces; saves and evaluates it at fit end.

    Args:
        policy: "tiny" (a fresh tiny Llama), a hub id or a local path.
        tiny_config: ``tiny_llama_config`` overrides for policy="tiny" (e.g. hidden_size).
        dtype: parameter dtype for a loaded policy.
        lora: LoRA settings (see ``load_policy``); None trains all weights.
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warmup steps.
        min_lr_ratio: the cosine decay ends at ``lr * min_lr_ratio``.
        max_length: traces are cut to this many tokens (and packed rows hold at most this many).
        pack: pack the traces of a batch into rows with a block-diagonal mask (no cross-trace
            attention, same logits as unpadded) instead of padding each to the longest; about
            half the tokens per step on arith.
        init_seed: seeds the tiny policy's initialisation.
        output_dir: where the policy is saved; None means ``logs/policies/tiny-<task>``.
        merge_lora: save a LoRA policy merged into its base (a plain HF directory that an RL
            config loads with a fresh LoRA); False saves the adapter only (peft format).
        evaluation: the fit-end rollout evaluation.
        objectives: the reward heads that score the evaluation's rollouts (it needs one named
            ``accuracy``); None: accuracy + tool_efficiency (budget 4), ``ParetoPOModule``'s
            default. Give the RL config's ``objectives`` when they differ (answer formats).
        evaluate_before: also evaluate the policy before training (at fit start).
        num_threads: ``torch.set_num_threads`` at setup (process-wide); None leaves it. On a
            small shared CPU 1 is fastest: with 2 threads per process on 2 busy cores a step
            was 6-10x slower than with 1 (oversubscribed OpenMP threads spin).
        progress_every_s: seconds between progress log lines when stdout is not a terminal
            (``ProgressLog``); the first and the last step are always logged.
    """

    def __init__(
        self,
        policy: str = "tiny",
        tiny_config: dict[str, int] | None = None,
        dtype: str = "float32",
        lora: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_steps: int = 30,
        min_lr_ratio: float = 0.1,
        max_length: int = 256,
        pack: bool = True,
        init_seed: int = 0,
        output_dir: str | None = None,
        merge_lora: bool = True,
        evaluation: EvalArgs | None = None,
        objectives: RewardHeads | None = None,
        evaluate_before: bool = False,
        num_threads: int | None = None,
        progress_every_s: float = 30.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
        if not progress_every_s >= 0:
            raise ValueError(f"progress_every_s must be >= 0 seconds, got {progress_every_s}")
        self.objectives = objectives or RewardHeads.from_names(["accuracy", "tool_efficiency"])
        accuracy_column(self.objectives)  # a set without accuracy fails here, not at fit end
        self.save_hyperparameters(ignore=["objectives"])  # instances, as ParetoPOModule's
        if policy == "tiny":
            if lora is not None:
                raise ValueError("lora is for pretrained policies; use policy='tiny' without it")
            self.model, self.tokenizer = build_tiny_policy(seed=init_seed, **(tiny_config or {}))
        else:
            if is_local_path(policy) and not Path(policy).expanduser().exists():
                raise ValueError(f"policy: {policy} not found; for SmolLM2 run `make smollm2`")
            self.model, self.tokenizer = load_policy(policy, dtype=dtype, lora=lora)
        self.evaluation = evaluation or EvalArgs()

    def configure_callbacks(self) -> list[ProgressLog]:
        """Progress lines through logging when stdout is not a terminal (see the docstring)."""
        return [ProgressLog(every_s=self.hparams.progress_every_s)]

    def setup(self, stage: str) -> None:
        if self.hparams.num_threads is not None:
            torch.set_num_threads(self.hparams.num_threads)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if isinstance(batch, list):
            collate = pack_traces if self.hparams.pack else collate_traces
            dm = self.trainer.datamodule if self._trainer else None
            special = getattr(dm, "prompt_special_tokens", True)
            return collate(batch, self.tokenizer, self.hparams.max_length, special)
        return batch

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        # input_ids / labels: [B, T] (+ position_ids and a [B, 1, T, T] mask when packed); the
        # model shifts labels itself and averages over the labels that are not -100.
        return self.model(**batch).loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=_n_targets(batch))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), prog_bar=True, batch_size=_n_targets(batch))

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("test/loss", self._loss(batch), batch_size=_n_targets(batch))

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim >= 2]
        no_decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": hp.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=hp.lr,
            betas=(0.9, 0.98),
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, hp.warmup_steps, total, hp.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def resolved_output_dir(self) -> Path:
        """``output_dir``, or ``logs/policies/tiny-<task>`` with the data module's task."""
        if self.hparams.output_dir:
            return Path(self.hparams.output_dir)
        task = getattr(self.trainer.datamodule, "task", "policy") if self._trainer else "policy"
        return Path("logs") / "policies" / f"tiny-{task}"

    def on_fit_start(self) -> None:
        if self.hparams.evaluate_before:
            self._evaluate("warmstart_eval_before")

    def on_fit_end(self) -> None:
        self._save()
        self._evaluate("warmstart_eval")

    @rank_zero_only
    def _save(self) -> None:
        out = self.resolved_output_dir()
        log.info("LoRA adapters' weight change: %.4f (Frobenius norm)", adapter_delta_norm(self))
        self.model = save_policy(self.model, self.tokenizer, out, self.hparams.merge_lora)
        if hasattr(self.trainer.datamodule, "chat_settings"):
            write_chat_settings(out, self.trainer.datamodule.chat_settings())
        log.info("saved the warm-started policy to %s", out)

    @rank_zero_only
    def _evaluate(self, name: str) -> None:
        """Roll out the held-out problems; write ``<output_dir>/<name>.md``, log ``<name>/...``."""
        dm = self.trainer.datamodule
        if not self.evaluation.enabled or not hasattr(dm, "eval_tasks"):
            return
        out = self.resolved_output_dir()
        out.mkdir(parents=True, exist_ok=True)
        metrics = evaluate_policy(
            self.model, self.tokenizer, dm.eval_tasks(), build_tools(dm.tool_specs()), dm.protocol, self.evaluation,
            self.objectives, out / f"{name}.md",
        )  # fmt: skip
        metrics = {name + k.removeprefix("warmstart_eval"): v for k, v in metrics.items()}
        if self.logger is not None:
            self.logger.log_metrics(metrics, step=self.global_step)
            self.logger.save()


def _n_targets(batch: dict[str, torch.Tensor]) -> int:
    """Trained-on tokens of a batch: epoch means of the token-mean loss weight by them."""
    return int((batch["labels"][:, 1:] != -100).sum())


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """LR multiplier: linear from 1/warmup to 1 over ``warmup_steps``, then cosine to ``min_ratio``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
