"""Validation and test of ``ParetoPOModule``: its held-out hooks, kept apart from training.

Contract. ``HeldOutEvaluation`` is mixed into ``ParetoPOModule`` (and only there); it uses the
module's ``rollout``, ``objectives`` (the reward heads: the one scorer), ``rollout_args``,
``policy``, ``run`` (``run_state.RunState``: the validation archive and records), ``_rng``
(``rollout_rng.RolloutRNG``), ``_eval`` (``evaluation.EvalAccumulator``) and
``current_weights()``. Validation rolls out each held-out task once (greedy when
``rollout.val_greedy``), test ``test_samples_per_task()`` times; the sums are all-gathered, so
every rank reports the same point. Each validation logs val/accuracy, val/tool_calls,
val/tool_productivity and val/hv (the HV of the non-dominated set of this run's validation
points, ``evaluation.add_validation_point``) and appends a record to ``run.val_history``; a test
epoch logs test/* and keeps its result in ``last_test``. ``evaluate(batches)`` is the same
scoring on one process, for ``callbacks.RunSummary``'s start and final points. Sampled
evaluations draw from their own generator, never from the training stream.

Deliberately not done: no per-tier breakdown here (``warmstart.evaluate`` has one).
"""

from __future__ import annotations

from typing import Any

import torch

from lightning_paretopo.evaluation import REPORTED, EvalAccumulator, add_validation_point
from lightning_paretopo.types import TaskExample


class HeldOutEvaluation:
    """The validation/test hooks of ``ParetoPOModule`` (module docstring)."""

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
