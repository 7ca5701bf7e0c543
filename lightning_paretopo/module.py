"""``ParetoPOModule``: wires rollout -> rewards [N, K] -> advantages -> loss. Lightning owns the loop.

One training step (B prompts from the DataModule, G rollouts each, N = B*G):
1. the ``RolloutEngine`` samples N multi-turn trajectories with real tool calls;
2. the reward heads give R_raw and R (normalised) [N, K];
3. the stage-1 state (``HypervolumeWeights``: EMA point, global archive, weights) takes the batch
   point (the mean over every rank's rows under DDP, so the state is the same on every rank);
   every method tracks it, so train/hv is comparable across runs;
4. ``method_advantages`` gives token advantages [N, T] for the configured method and stage;
   ``diagnostics.py`` logs train/zero_advantage_groups, train/answered and train/called and
   warns after ``zero_advantage_patience`` consecutive steps with every advantage 0;
5. ``ppo_epochs`` passes of the clipped policy gradient (manual optimisation, micro-batched).

Validation and test roll out each held-out task once (greedy by default) and log
val/accuracy, val/tool_calls, val/tool_productivity (correct / calls) and val/hv, the HV of the
non-dominated set of this run's validation points (``evaluation.py``). Sampled evaluations draw
from their own generator, never from the training stream (``rollout_rng.py``). Stage, switch
step, w*, the stage-1 state, the validation archive and the training RNG are saved in every
checkpoint, so ``--ckpt_path`` resumes exactly (tests/module/test_resume.py); the checkpoint
holds plain types only, as ``torch.load(weights_only=True)`` requires. With ``policy.lora`` the
checkpoint's ``state_dict`` holds the trainable (adapter) weights only, and the base is reloaded
from ``policy.name_or_path`` (``adapter_checkpoint.py``). The switch itself is made
by ``callbacks.StageSwitch``; the optimisation step is ``optimization.policy_update``.
Checkpoint after validations (``callbacks.LastCheckpoint``, as every shipped config does), not
with ``every_n_train_steps`` on a validation step: Lightning writes those before that validation
and skips it on resume, so the resumed run would lack one validation record.

Bad configuration fails at construction with a ValueError naming the field (unknown method,
group_size < 2, unknown tool, static weights of the wrong length, a method that reads accuracy
or gated dominance (ALGORITHM.md S5) without an accuracy objective (``module_checks.py``), rollout budgets < 1, temperature <= 0, an optimizer learning rate
<= 0), before the trainer starts any logger; a missing local policy fails in
``configure_model``, after the warm start (``policy.warmstart``) had its chance to create it.

ALGORITHM.md v2: stage 2 compares ``method.stage2.dominance`` vectors (heads declare
``gated``), scores them by ``method.stage2.score`` and logs train/stage2/wrong_in_front0 and
train/stage2/fronts; ``paretopo_paper`` keeps its smoothed HV gain (``pareto.meta_reward``) in
the checkpoint and freezes w0 (not the dynamic weights) at the switch.

Deliberately not done: no value model, no reference-model copy for full fine-tuning unless
``loss.kl_beta > 0``, no KV-cache reuse between rollout and training forward passes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import torch
from lightning import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from lightning_paretopo.adapter_checkpoint import (
    adapter_state_dict,
    check_adapter_state,
    trainable_keys,
)
from lightning_paretopo.args import LossArgs, MethodArgs, PolicyArgs, RolloutArgs, as_args
from lightning_paretopo.building import build_engine, build_policy, select_tools
from lightning_paretopo.diagnostics import ZeroAdvantageWatch, answer_formats, step_diagnostics
from lightning_paretopo.evaluation import (
    REPORTED,
    EvalAccumulator,
    add_validation_point,
    train_metrics,
)
from lightning_paretopo.methods import (
    AdvantageInputs,
    get_method,
    method_advantages,
    method_report,
)
from lightning_paretopo.module_checks import check_config, static_weights
from lightning_paretopo.optimization import UpdateStep, check_optimizer, policy_update
from lightning_paretopo.pareto import nan_mean_point
from lightning_paretopo.precision import keep_tasks_whole
from lightning_paretopo.rewards import RewardHeads
from lightning_paretopo.rewards.symbolic import timeout_count
from lightning_paretopo.rollout import RolloutEngine
from lightning_paretopo.rollout_rng import RolloutRNG
from lightning_paretopo.run_state import RunState
from lightning_paretopo.types import RolloutBatch, TaskExample

log = logging.getLogger(__name__)


def _adamw(params: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)


class ParetoPOModule(LightningModule):
    """The policy and its reward heads, trained with ParetoPO or one of its baselines.

    Args:
        policy: which causal LM to train and how to load it (``PolicyArgs``).
        objectives: the reward heads, in column order; default accuracy + tool_efficiency
            (budget 4).
        method: the advantage signal and its stage-1/stage-2 settings (``MethodArgs``).
        rollout: sampling settings (``RolloutArgs``).
        loss: policy-gradient settings (``LossArgs``).
        tool_config: tool name -> constructor kwargs; None takes the DataModule's ``tools``
            (not named ``tools``, which would clash with the DataModule's hparam of that name).
        optimizer: optimizer factory over the trainable parameters (default AdamW, lr 1e-5).
        scheduler: optional LR scheduler factory, stepped once per training step.
        rollout_seed: seeds the rollout sampler (its state is checkpointed). Not ``seed``: the
            DataModule's ``seed`` (which problems) is a different choice, and Lightning refuses
            to log two hparams of one name with different values.
        zero_advantage_patience: warn (once per stretch) after this many consecutive training
            steps on which every advantage was 0 (``diagnostics.ZeroAdvantageWatch``).
    """

    def __init__(
        self,
        policy: PolicyArgs | None = None,
        objectives: RewardHeads | None = None,
        method: MethodArgs | None = None,
        rollout: RolloutArgs | None = None,
        loss: LossArgs | None = None,
        tool_config: dict[str, dict[str, Any]] | None = None,
        optimizer: OptimizerCallable = _adamw,
        scheduler: LRSchedulerCallable | None = None,
        rollout_seed: int = 0,
        zero_advantage_patience: int = 10,
    ) -> None:
        super().__init__()
        self.policy_args = as_args(PolicyArgs, policy)
        self.method_args = as_args(MethodArgs, method)
        self.rollout_args = as_args(RolloutArgs, rollout)
        self.loss_args = as_args(LossArgs, loss)
        # Plain dicts, not dataclasses: torch.load(weights_only=True), the default with which
        # Lightning resumes from a local --ckpt_path, refuses unknown classes in a checkpoint.
        args = {"policy": self.policy_args, "method": self.method_args}
        args |= {"rollout": self.rollout_args, "loss": self.loss_args}
        self.save_hyperparameters(
            {
                **{k: asdict(v) for k, v in args.items()},
                "tool_config": tool_config,
                "rollout_seed": rollout_seed,
                "zero_advantage_patience": zero_advantage_patience,
            }
        )
        self.automatic_optimization = False
        self.objectives = objectives or RewardHeads.from_names(["accuracy", "tool_efficiency"])
        self.method = self.method_args.name
        self.declared = get_method(self.method)  # what the method is (methods/catalog.py)
        self.tool_args = tool_config
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.rollout_seed = rollout_seed
        K = len(self.objectives)
        self.objective_names = self.objectives.names
        self.gated = tuple(self.objectives.gated)
        self.accuracy_index = (
            self.objective_names.index("accuracy") if "accuracy" in self.objective_names else None
        )
        check_config(self.method_args, self.objective_names, tool_config)
        check_optimizer(optimizer)  # a learning rate <= 0 fails here, not after the policy loads
        self.static_weights = static_weights(self.method_args, self.objective_names)
        self.run = RunState(K, self.method_args.stage1, self.declared.start_stage)
        if self.run.stage == 2:  # stage2_only: w* = the stage-1 weights at the start
            self.run.switch(0, self.stage1_weights())
        self.last_test: dict[str, Any] | None = None
        self.policy: torch.nn.Module | None = None
        self.tokenizer: Any = None
        self.engine: RolloutEngine | None = None
        self._ref_policy: torch.nn.Module | None = None
        self._rng = RolloutRNG(rollout_seed)
        self._eval_generator: torch.Generator | None = None
        self._eval = EvalAccumulator(self.objective_names, self.accuracy_index)
        self.zero_advantage_watch = ZeroAdvantageWatch(zero_advantage_patience)

    # The run's state has one owner, ``self.run``; these read it (callbacks, plots, summary).
    stage = property(lambda self: self.run.stage)
    switch_step = property(lambda self: self.run.switch_step)
    frozen_weights = property(lambda self: self.run.frozen_weights)
    hv_weights = property(lambda self: self.run.hv_weights)
    train_history = property(lambda self: self.run.train_history)
    val_history = property(lambda self: self.run.val_history)

    # ----------------------------------------------------------------- set-up
    def configure_model(self) -> None:
        if self.policy is None:
            self.policy, self.tokenizer, self._ref_policy = build_policy(
                self.policy_args, self.loss_args
            )

    def setup(self, stage: str) -> None:
        self.configure_model()
        if self._trainer is not None:  # "bf16-true" would choke on TaskExample batches
            keep_tasks_whole(self.trainer.precision_plugin)
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        tools = select_tools(self.tool_args, datamodule)
        policy_dir = self.policy_args.name_or_path
        self.engine = build_engine(self.rollout_args, self.tokenizer, tools, policy_dir)

    def configure_optimizers(self) -> Any:
        params = [p for p in self.policy.parameters() if p.requires_grad]
        opt = self.optimizer_factory(params)
        if self.scheduler_factory is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": self.scheduler_factory(opt)}

    # --------------------------------------------------------------- training
    def current_weights(self) -> torch.Tensor:
        """[K] the weights this step scalarises with (dynamic, frozen or static)."""
        if self.stage == 2:
            return self.frozen_weights
        return self.stage1_weights()

    def stage1_weights(self) -> torch.Tensor:
        """[K] the method's weights outside stage 2: dynamic (HV) or static (Method.weights)."""
        dynamic = self.declared.weights == "dynamic"
        return self.hv_weights.weights if dynamic else self.static_weights

    def switch_to_stage2(self, step: int) -> None:
        """Freeze w* = the current weights and move to Pareto-rank advantages (once)."""
        if self.stage == 1 and self.run.switch(step, self.stage1_weights()):
            log.info(
                "stage switch at step %d; frozen weights %s", step, self.frozen_weights.tolist()
            )

    def rollout(
        self,
        tasks: list[TaskExample],
        group_size: int,
        greedy: bool,
        generator: torch.Generator | None = None,
    ) -> RolloutBatch:
        """Sample ``group_size`` trajectories per task with the current policy (no grad).

        ``generator`` defaults to the training stream (``rollout_rng.RolloutRNG``).
        """
        device = next(self.policy.parameters()).device
        if generator is None:
            generator = self._rng.train(device, self.global_rank)
        batch = self.engine.generate(
            self.policy, self.tokenizer, tasks, group_size, generator, greedy=greedy
        )
        return batch.to(device)

    def training_step(self, tasks: list[TaskExample], batch_idx: int) -> None:
        G = self.rollout_args.group_size
        batch = self.rollout(tasks, G, greedy=False)
        R_raw, R = self.objectives(batch, learn=True)  # [N, K] each, float64
        point = nan_mean_point(self._every_rank(R))  # [K], the same on every rank
        self.hv_weights.step(point)
        if self.declared.hv_gain and self.stage == 1:
            self.run.meta_gain.step(point)
        weights = self.current_weights()
        inputs = AdvantageInputs(
            R,
            R_raw,
            batch,
            self.objectives.masks(batch),
            weights,
            self.accuracy_index,
            self.run.hv_contribution,
            gated=self.gated,
            smoothed_dhv=self.run.meta_gain.value,
        )
        A, a = method_advantages(self.method_args, self.stage, inputs)  # [N], [N, T]
        signal = self._signal_diagnostics(a, batch)  # before the update moves global_step
        step = UpdateStep.of(self)
        stats = policy_update(self.policy, batch, a, self.loss_args, step, self._ref_policy)
        metrics = train_metrics(self.objective_names, self.accuracy_index, R_raw, batch, weights)
        metrics |= {"train/hv": self.hv_weights.hypervolume, "train/stage": float(self.stage)}
        metrics["train/advantage_abs"] = float(A.abs().mean())
        metrics |= signal
        metrics |= method_report(self.method_args, self.stage, inputs)  # stage-2 diagnostics
        if self.declared.hv_gain:
            metrics["train/paper/smoothed_dhv"] = self.run.meta_gain.value
        metrics["train/rollout_errors"] = float(batch.rollout_errors)  # parser/tool exceptions
        metrics["train/checker_timeouts"] = float(timeout_count())  # cumulative, this process
        metrics |= {f"train/loss/{k}": v for k, v in stats.items()}
        self.log_dict(metrics, prog_bar=False, batch_size=len(batch))
        self.log("train/hv_pb", metrics["train/hv"], prog_bar=True, logger=False)
        self.run.record_train(self.global_step, weights)  # after the update: HV after the step

    def on_train_start(self) -> None:
        self.run.record_train(self.global_step, self.current_weights())  # the HV at the start

    def _every_rank(self, R: torch.Tensor) -> torch.Tensor:
        """[N, K] rewards -> [W*N, K], every rank's rows (ranks hold N each), so the batch point
        and with it the stage-1 state, the HV and the switch are the same on every rank."""
        if self._trainer is None or self.trainer.world_size == 1:
            return R
        return self.all_gather(R).reshape(-1, R.shape[-1])

    def _signal_diagnostics(self, a: torch.Tensor, batch: RolloutBatch) -> dict[str, float]:
        """train/zero_advantage_groups, train/answered, train/called; warns through
        ``zero_advantage_watch`` when every advantage has been 0 for too long."""
        report = step_diagnostics(a, batch, answer_formats(self.objectives))  # a: [N, T]
        warning = self.zero_advantage_watch.observe(self.global_step, report)
        if warning is not None:
            log.warning("%s", warning)
        return report

    # ------------------------------------------------------------- evaluation
    def _eval_batch(self, tasks: list[TaskExample], generator: torch.Generator, samples: int = 1):
        """(R_raw [N, K], R [N, K], batch) of ``samples`` rollouts per task (N = len(tasks) *
        samples), greedy when ``val_greedy``."""
        batch = self.rollout(tasks, samples, self.rollout_args.val_greedy, generator)
        return (*self.objectives(batch), batch)

    def test_samples_per_task(self) -> int:
        """Rollouts per test task: ``rollout.test_samples`` when sampling, 1 when greedy."""
        return 1 if self.rollout_args.val_greedy else self.rollout_args.test_samples

    def _new_eval_generator(self) -> torch.Generator:
        device = next(self.policy.parameters()).device
        return self._rng.evaluation(device, self.global_rank, self.global_step)

    @torch.no_grad()
    def evaluate(self, batches: Any) -> dict[str, Any]:
        """Roll out every test task of ``batches`` (lists of tasks) ``test_samples_per_task()``
        times; this process only. The result also holds ``samples_per_task``."""
        acc = EvalAccumulator(self.objective_names, self.accuracy_index)
        generator = self._new_eval_generator()
        samples = self.test_samples_per_task()
        for tasks in batches:
            acc.add(*self._eval_batch(tasks, generator, samples))
        return acc.summarize(acc.sums(torch.device("cpu"))) | {"samples_per_task": samples}

    def validation_step(self, tasks: list[TaskExample], batch_idx: int) -> None:
        self._eval.add(*self._eval_batch(tasks, self._eval_generator))

    def test_step(self, tasks: list[TaskExample], batch_idx: int) -> None:
        samples = self.test_samples_per_task()
        self._eval.add(*self._eval_batch(tasks, self._eval_generator, samples))

    def on_validation_epoch_start(self) -> None:
        self._eval.reset()
        self._eval_generator = self._new_eval_generator()

    on_test_epoch_start = on_validation_epoch_start

    def _gathered_eval(self) -> dict[str, Any]:
        sums = self._eval.sums(self.device)  # [S]
        gathered = self.all_gather(sums)
        if gathered.dim() == 2:
            gathered = gathered.sum(dim=0)
        return self._eval.summarize(gathered.cpu())

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        result = self._gathered_eval()
        hv, contribution = add_validation_point(self.run.val_archive, result["point"])
        if contribution is not None:
            self.run.hv_contribution = contribution
        metrics = {f"val/{k}": float(result[k]) for k in REPORTED} | {"val/hv": hv}
        self.log_dict(metrics, prog_bar=True)
        self.val_history.append(
            {
                "step": int(self.global_step),
                **{k[4:]: v for k, v in metrics.items()},
                "stage": self.stage,
                "weights": self.current_weights().tolist(),
                "point": result["point"],
            }
        )

    def on_test_epoch_end(self) -> None:
        result = self._gathered_eval()
        self.last_test = result
        self.log_dict({f"test/{k}": float(result[k]) for k in REPORTED})

    # ------------------------------------------------------------ checkpoint
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["paretopo"] = self.run.state_dict() | {
            "reward_heads": self.objectives.state_dict(),  # S8's running n*
            "generator": self._rng_states(),
            "zero_advantage_watch": self.zero_advantage_watch.state_dict(),
        }
        if self._adapters_only() and "state_dict" in checkpoint:  # LoRA: the adapters only;
            keys = trainable_keys(self)  # the base is reloaded from its source
            checkpoint["state_dict"] = adapter_state_dict(checkpoint["state_dict"], keys)

    def _adapters_only(self) -> bool:
        """True when checkpoints hold the trainable (LoRA) weights only."""
        return self.policy_args.lora is not None and self.policy is not None

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """``nn.Module.load_state_dict``, which also takes a LoRA run's adapter-only state:
        every trainable weight must be in it, and the frozen base stays as loaded from its
        source (``adapter_checkpoint.check_adapter_state``)."""
        if strict and self._adapters_only():
            own = set(self.state_dict())
            if not set(state_dict) >= own:  # adapter-only (a full state loads strictly)
                check_adapter_state(state_dict, trainable_keys(self), own)
                return super().load_state_dict(state_dict, strict=False, assign=assign)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _rng_states(self) -> tuple[str, torch.Tensor] | None:
        """The training RNG state; under DDP every rank's, gathered into [world, S]."""
        state = self._rng.state_dict()
        if state is None or self._trainer is None or self.trainer.world_size == 1:
            return state
        gathered = self.all_gather(state[1].to(self.device))  # [world, S]
        return (state[0], gathered.cpu())

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["paretopo"]
        self.run.load_state_dict(state, legacy_callbacks=checkpoint.get("callbacks", {}).values())
        self.objectives.load_state_dict(state.get("reward_heads", {}))
        if "zero_advantage_watch" in state:  # checkpoints before issue 14 lack it
            self.zero_advantage_watch.load_state_dict(state["zero_advantage_watch"])
        world = self.trainer.world_size if self._trainer is not None else 1
        self._rng.load_state_dict(state["generator"], self.global_rank, world)
