"""``ParetoPOModule`` under a real Trainer on CPU: training, the stage switch, evaluation and
fail-fast configuration. The policy is the random tiny Llama of ``conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning import seed_everything

from lightning_paretopo.args import (
    LossArgs,
    MethodArgs,
    PolicyArgs,
    RolloutArgs,
    Stage1Args,
    Stage2Args,
)
from lightning_paretopo.callbacks import FrontLogger, StageSwitch
from lightning_paretopo.data import FileTaskDataModule
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.policy.loading import load_policy
from lightning_paretopo.rewards import Brevity, RewardHeads, ToolEfficiency
from lightning_paretopo.rollout import RolloutEngine, TaggedProtocol
from lightning_paretopo.tools import build_tools

from .conftest import MemoryLogger, make_data, make_module, make_trainer

NAMES = ["accuracy", "tool_efficiency", "digits"]


def test_one_training_step_updates_the_policy_and_logs(tiny_policy: Path, tmp_path: Path) -> None:
    seed_everything(0)
    module, data = make_module(tiny_policy), make_data(tmp_path)
    trainer = make_trainer(tmp_path, max_steps=1)
    module.configure_model()
    before = {n: p.detach().clone() for n, p in module.policy.named_parameters()}
    trainer.fit(module, data)
    assert trainer.global_step == 1
    changed = [n for n, p in module.policy.named_parameters() if not torch.equal(p, before[n])]
    assert changed, "no policy parameter changed after one training step"
    logger: MemoryLogger = trainer.logger
    step, metrics = logger.history[-1]
    assert step == 0
    for key in ["train/hv", "train/stage", "train/loss/pg_loss", "train/tool_calls"]:
        assert key in metrics, sorted(metrics)
    for name in NAMES:
        assert f"train/weights/{name}" in metrics and f"train/reward/{name}" in metrics
    assert metrics["train/stage"] == 1.0
    weights = torch.tensor([metrics[f"train/weights/{n}"] for n in NAMES])
    torch.testing.assert_close(weights, module.hv_weights.weights.float())
    assert abs(float(weights.sum()) - 1.0) < 1e-6
    # The random policy never answers and never calls a tool; only the digit share varies.
    assert metrics["train/reward/accuracy"] == 0.0 and metrics["train/tool_calls"] == 0.0
    assert metrics["train/reward/tool_efficiency"] == 1.0
    assert 0.0 < metrics["train/reward/digits"] < 1.0
    assert metrics["train/advantage_abs"] > 0.0
    assert metrics["train/hv"] == module.hv_weights.hypervolume


def test_fixed_step_switch_freezes_the_weights(tiny_policy: Path, tmp_path: Path) -> None:
    seed_everything(0)
    module, data = make_module(tiny_policy), make_data(tmp_path)
    fronts = FrontLogger(dirpath=tmp_path, log_wandb=False)
    switch = StageSwitch(fixed_step=2)
    trainer = make_trainer(tmp_path, max_steps=4, callbacks=[switch, fronts])
    trainer.fit(module, data)
    assert module.stage == 2 and module.switch_step == 2 and switch.state_dict() == {}
    at_switch = next(h for h in module.train_history if h["step"] == 2)["weights"]
    assert torch.equal(module.frozen_weights, torch.tensor(at_switch, dtype=torch.float64))
    # The stage-1 rule keeps running after the switch; w* does not follow it.
    assert module.hv_weights.step_count == 4
    assert not torch.equal(module.hv_weights.weights, module.frozen_weights)
    logger: MemoryLogger = trainer.logger
    stages = {s: m["train/stage"] for s, m in logger.history if "train/stage" in m}
    assert stages == {0: 1.0, 1: 1.0, 2: 2.0, 3: 2.0}  # steps 1, 2 in stage 1; 3, 4 in stage 2
    assert [m["train/switch_step"] for _, m in logger.history if "train/switch_step" in m] == [2.0]
    frozen = torch.tensor([logger.last(f"train/weights/{n}") for n in NAMES])
    torch.testing.assert_close(frozen, module.frozen_weights.float())


def test_stage2_only_starts_in_stage_2_with_initial_weights(tiny_policy: Path) -> None:
    module = make_module(tiny_policy, method="stage2_only")
    assert module.stage == 2 and module.switch_step == 0
    torch.testing.assert_close(module.frozen_weights, torch.full((3,), 1 / 3, dtype=torch.float64))
    module.switch_to_stage2(5)  # a no-op once in stage 2
    assert module.switch_step == 0


def greedy_reference(policy: Path, tasks: list) -> tuple[float, float]:
    """Mean tool calls and mean digit share of a greedy rollout done by the engine directly."""
    model, tokenizer = load_policy(str(policy))
    model.eval()
    engine = RolloutEngine(
        TaggedProtocol(), build_tools({"calculator": {}}), 2, 16, 96, do_sample=False
    )
    batch = engine.generate(model, tokenizer, tasks, 1)
    digits = [sum(c.isdigit() for c in t) / max(len(t), 1) for t in batch.texts]
    return float(batch.tool_calls.float().mean()), sum(digits) / len(digits)


def test_validate_and_test_report_the_held_out_point(tiny_policy: Path, tmp_path: Path) -> None:
    seed_everything(0)
    module, data = make_module(tiny_policy), make_data(tmp_path)
    trainer = make_trainer(tmp_path, max_steps=1, limit_val_batches=None)
    (val,) = trainer.validate(module, data)
    for key in ["val/accuracy", "val/tool_calls", "val/tool_productivity", "val/hv"]:
        assert key in val, sorted(val)
    calls, digits = greedy_reference(tiny_policy, data.splits["val"])
    assert val["val/accuracy"] == 0.0 and val["val/tool_calls"] == pytest.approx(calls)
    assert val["val/tool_productivity"] == 0.0  # 0 correct / max(calls, 1)
    assert val["val/hv"] == 0.0  # accuracy 0: the point (0, 1, d) has no volume
    record = module.val_history[-1]
    assert record["point"] == pytest.approx([0.0, 1.0 - min(calls, 2) / 2, digits])
    assert record["stage"] == 1 and len(module.run.val_archive) == 1

    (test,) = trainer.test(module, data)
    result = module.last_test
    assert result is not None and result["n"] == 4
    calls, digits = greedy_reference(tiny_policy, data.splits["test"])
    assert result["point"] == pytest.approx([0.0, 1.0 - min(calls, 2) / 2, digits])
    assert test["test/accuracy"] == result["accuracy"] == 0.0
    assert test["test/tool_calls"] == pytest.approx(calls)


def test_val_hv_is_the_hv_of_this_runs_validation_points(tiny_policy: Path, tmp_path: Path) -> None:
    # Without accuracy the point has volume: the HV of one point is the product of its entries.
    heads = RewardHeads([ToolEfficiency(2), Brevity(max_tokens=64)])
    v1 = Stage2Args(dominance="pareto")  # gated dominance (v2 default) needs accuracy
    method = MethodArgs(name="paretopo", stage1=Stage1Args(alpha=0.5), stage2=v1)
    module = make_module(tiny_policy, method=method, objectives=heads)
    trainer = make_trainer(tmp_path, max_steps=1, limit_val_batches=None)
    (val,) = trainer.validate(module, make_data(tmp_path))
    point = module.val_history[-1]["point"]
    assert point[0] == 1.0 and 0 < point[1] < 1, point  # no calls; some sampled tokens
    assert val["val/hv"] == pytest.approx(point[0] * point[1])
    assert val["val/accuracy"] != val["val/accuracy"]  # NaN: no accuracy objective
    trainer.validate(module, make_data(tmp_path))  # the same greedy point again
    assert len(module.val_history) == 2 and len(module.run.val_archive) == 1
    assert module.run.hv_contribution == 0.0


def test_sampled_testing_takes_test_samples_rollouts_per_task(
    tiny_policy: Path, tmp_path: Path
) -> None:
    def rollout(greedy: bool) -> RolloutArgs:
        return RolloutArgs(
            group_size=2, max_turns=2, max_new_tokens=16, max_total_tokens=96,
            val_greedy=greedy, test_samples=3,
        )  # fmt: skip

    sampled = make_module(tiny_policy, rollout=rollout(greedy=False))
    assert sampled.test_samples_per_task() == 3
    trainer = make_trainer(tmp_path, max_steps=1, limit_val_batches=None)
    trainer.test(sampled, make_data(tmp_path))
    assert sampled.last_test["n"] == 3 * 4  # 4 test tasks x 3 samples
    trainer.validate(sampled, make_data(tmp_path))
    assert sampled._eval.sums(torch.device("cpu"))[0] == 4  # validation: one per task
    sampled.configure_model()
    data = make_data(tmp_path)
    data.setup("test")
    result = sampled.evaluate(data.test_dataloader())  # RunSummary's path
    assert (result["n"], result["samples_per_task"]) == (3 * 4, 3)
    greedy = make_module(tiny_policy, rollout=rollout(greedy=True))
    assert greedy.test_samples_per_task() == 1
    make_trainer(tmp_path, max_steps=1).test(greedy, make_data(tmp_path))
    assert greedy.last_test["n"] == 4  # greedy: one rollout per task
    with pytest.raises(ValueError, match="rollout.test_samples must be >= 1"):
        RolloutArgs(test_samples=0)


def test_sampled_evaluation_does_not_change_training(tiny_policy: Path, tmp_path: Path) -> None:
    # Evaluation draws from its own generator (seeded by step), never from the training stream:
    # validating every step with sampled rollouts leaves the trained policy bit-identical.
    def train(validate: bool) -> ParetoPOModule:
        seed_everything(0)
        rollout = RolloutArgs(
            group_size=2, max_turns=2, max_new_tokens=16, max_total_tokens=96, val_greedy=False
        )
        module = make_module(tiny_policy, rollout=rollout)
        extra = {"limit_val_batches": None, "val_check_interval": 1} if validate else {}
        make_trainer(tmp_path, max_steps=2, **extra).fit(module, make_data(tmp_path))
        assert len(module.val_history) == (2 if validate else 0)
        return module

    plain, validated = train(validate=False), train(validate=True)
    for (name, p), q in zip(
        plain.policy.named_parameters(), validated.policy.parameters(), strict=True
    ):
        assert torch.equal(p, q), name
    assert torch.equal(plain.hv_weights.ema_point, validated.hv_weights.ema_point)


@pytest.mark.parametrize("aggregation", ["token-mean", "seq-mean"])
def test_micro_batches_accumulate_the_whole_batch_gradient(
    tiny_policy: Path, tmp_path: Path, aggregation: str
) -> None:
    def one_step(micro_batch_size: int | None) -> ParetoPOModule:
        seed_everything(0)
        module = make_module(
            tiny_policy,
            loss=LossArgs(aggregation=aggregation, micro_batch_size=micro_batch_size),
            optimizer=lambda params: torch.optim.SGD(params, lr=1.0),
        )
        make_trainer(tmp_path, max_steps=1).fit(module, make_data(tmp_path))
        return module

    whole, micro = one_step(None), one_step(1)
    for (name, p), q in zip(
        whole.policy.named_parameters(), micro.policy.parameters(), strict=True
    ):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5, msg=name)


def test_ppo_epochs_and_kl_to_a_frozen_copy(tiny_policy: Path, tmp_path: Path) -> None:
    seed_everything(0)
    module = make_module(tiny_policy, loss=LossArgs(ppo_epochs=2, kl_beta=0.1, micro_batch_size=2))
    trainer = make_trainer(tmp_path, max_steps=2)
    trainer.fit(module, make_data(tmp_path))
    # One rollout batch, two optimizer steps: Lightning's global_step counts optimizer steps.
    assert trainer.global_step == 2 and module.hv_weights.step_count == 1
    reference = load_policy(str(tiny_policy))[0]
    for (name, p), q in zip(
        module._ref_policy.named_parameters(), reference.parameters(), strict=True
    ):
        assert torch.equal(p, q) and not p.requires_grad, name
    metrics = trainer.logger.history[-1][1]
    assert metrics["train/loss/kl"] > 0  # the second pass moved away from the reference
    assert metrics["train/loss/ratio_mean"] != 1.0  # and re-used the batch off-policy


# ---------------------------------------------------------------- fail fast on bad configs
def test_unknown_method_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"method\.name"):
        ParetoPOModule(method=MethodArgs(name="grpo"))


def test_group_size_below_two_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"rollout\.group_size"):
        ParetoPOModule(rollout=RolloutArgs(group_size=1))


def test_static_weights_of_the_wrong_length_name_the_field(tiny_policy: Path) -> None:
    with pytest.raises(ValueError, match=r"method\.weights"):
        make_module(tiny_policy, method=MethodArgs(name="static", weights=[0.5, 0.5]))


def test_unknown_tool_names_the_field(tiny_policy: Path) -> None:
    with pytest.raises(ValueError, match=r"tool_specs: unknown tools.*'abacus'"):
        make_module(tiny_policy, tool_specs={"abacus": {}})


def test_missing_data_file_names_the_field(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ValueError, match=rf"train_source.*{missing.name}"):
        FileTaskDataModule(train_source=str(missing), kind="gsm8k")


@pytest.mark.parametrize("path", ["/nonexistent/policy", "./missing-policy", "logs/no/such/policy"])
def test_missing_local_policy_names_the_field(path: str, tmp_path: Path) -> None:
    module = ParetoPOModule(policy=PolicyArgs(name_or_path=path))  # lazy: no load yet
    assert module.policy is None
    trainer = make_trainer(tmp_path, max_steps=1)
    with pytest.raises(ValueError, match=r"policy\.name_or_path"):
        trainer.fit(module, make_data(tmp_path))


def test_missing_policy_with_a_missing_warmstart_config_names_it(tmp_path: Path) -> None:
    # (The module never runs a warm start: the CLI does, before the run; tests/test_cli_warmstart.py.)
    warmstart = str(tmp_path / "no-such-warmstart.yaml")
    module = ParetoPOModule(
        policy=PolicyArgs(name_or_path=str(tmp_path / "p"), warmstart=warmstart)
    )
    with pytest.raises(ValueError, match=r"policy\.warmstart.*no-such-warmstart\.yaml"):
        module.configure_model()


@pytest.mark.parametrize("method", ["accuracy_only", "otc"])
def test_methods_that_read_accuracy_need_the_objective(method: str) -> None:
    with pytest.raises(ValueError, match=rf"method\.name='{method}'.*'accuracy'"):
        ParetoPOModule(method=MethodArgs(name=method), objectives=RewardHeads([ToolEfficiency()]))
