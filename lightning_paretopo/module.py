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
5. ``ppo_epochs`` passes of the clipped policy gradient (``optimization.policy_update``);
6. the run records the step's training HV and the weights it trained with
   (``run.record_train``), which ``callbacks.StageSwitch`` (the switch) and the plots read.

The run's state has one owner, ``self.run`` (``run_state.RunState``); ``stage``,
``switch_step``, ``frozen_weights``, ``hv_weights``, ``train_history`` and ``val_history`` read
it. Validation and test: ``module_eval.HeldOutEvaluation``; checkpoints (exact resume, LoRA
adapter-only state): ``module_checkpoint.CheckpointHooks``.

Bad configuration fails at construction with a ValueError naming the field (unknown method,
group_size < 2, unknown tool, static weights of the wrong length, a method that reads accuracy
or gated dominance (ALGORITHM.md S5) without an accuracy objective (``module_checks.py``),
rollout budgets < 1, temperature <= 0, an optimizer learning rate <= 0), before the trainer
starts any logger. The policy is built in ``configure_model`` (``building.build_policy``).

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

from lightning_paretopo.args import LossArgs, MethodArgs, PolicyArgs, RolloutArgs, as_args
from lightning_paretopo.building import build_engine, build_policy, select_tools
from lightning_paretopo.diagnostics import ZeroAdvantageWatch, answer_formats, step_diagnostics
from lightning_paretopo.evaluation import EvalAccumulator, train_metrics
from lightning_paretopo.methods import (
    AdvantageInputs,
    get_method,
    method_advantages,
    method_report,
)
from lightning_paretopo.module_checkpoint import CheckpointHooks
from lightning_paretopo.module_checks import check_config, static_weights
from lightning_paretopo.module_eval import HeldOutEvaluation
from lightning_paretopo.optimization import UpdateStep, check_optimizer, policy_update
from lightning_paretopo.pareto import nan_mean_point
from lightning_paretopo.precision import keep_tasks_whole
from lightning_paretopo.rewards import RewardHeads
from lightning_paretopo.rewards.symbolic import timeout_count
from lightning_paretopo.rollout import RolloutEngine
from lightning_paretopo.rollout_rng import RolloutRNG
from lightning_paretopo.run_state import RunState
from lightning_paretopo.tools import ToolSpecs
from lightning_paretopo.types import RolloutBatch, TaskExample

log = logging.getLogger(__name__)


def _adamw(params: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)


class ParetoPOModule(HeldOutEvaluation, CheckpointHooks, LightningModule):
    """The policy and its reward heads, trained with ParetoPO or one of its baselines.

    Args:
        policy: which causal LM to train and how to load it (``PolicyArgs``).
        objectives: the reward heads, in column order; default accuracy + tool_efficiency
            (budget 4).
        method: the advantage signal and its stage-1/stage-2 settings (``MethodArgs``).
        rollout: sampling settings (``RolloutArgs``).
        loss: policy-gradient settings (``LossArgs``).
        tool_specs: the rollouts' tools, registry name -> constructor arguments
            (``tools.ToolSpecs``); None takes the DataModule's ``tool_specs()``.
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
        tool_specs: ToolSpecs | None = None,
        optimizer: OptimizerCallable = _adamw,
        scheduler: LRSchedulerCallable | None = None,
        rollout_seed: int = 0,
        zero_advantage_patience: int = 10,
    ) -> None:
        super().__init__()
        args = {"policy": as_args(PolicyArgs, policy), "method": as_args(MethodArgs, method)}
        args |= {"rollout": as_args(RolloutArgs, rollout), "loss": as_args(LossArgs, loss)}
        self.policy_args, self.method_args = args["policy"], args["method"]
        self.rollout_args, self.loss_args = args["rollout"], args["loss"]
        # Plain dicts, not dataclasses: torch.load(weights_only=True), the default with which
        # Lightning resumes from a local --ckpt_path, refuses unknown classes in a checkpoint.
        plain = {"tool_specs": tool_specs, "rollout_seed": rollout_seed}
        plain["zero_advantage_patience"] = zero_advantage_patience
        self.save_hyperparameters({k: asdict(v) for k, v in args.items()} | plain)
        self.automatic_optimization = False
        self.objectives = objectives or RewardHeads.from_names(["accuracy", "tool_efficiency"])
        self.method = self.method_args.name
        self.declared = get_method(self.method)  # what the method is (methods/catalog.py)
        self.tool_specs = tool_specs
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.rollout_seed = rollout_seed
        self.objective_names = self.objectives.names
        self.gated = tuple(self.objectives.gated)
        self.accuracy_index = (
            self.objective_names.index("accuracy") if "accuracy" in self.objective_names else None
        )
        check_config(self.method_args, self.objective_names, tool_specs)
        check_optimizer(optimizer)  # a learning rate <= 0 fails here, not after the policy loads
        self.static_weights = static_weights(self.method_args, self.objective_names)
        self.run = RunState(
            len(self.objectives), self.method_args.stage1, self.declared.start_stage
        )
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
        tools = select_tools(self.tool_specs, datamodule)
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
