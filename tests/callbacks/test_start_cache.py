"""The start-point cache: what its key depends on, and RunSummary computing a start point once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from lightning_paretopo.args import PolicyArgs, RolloutArgs
from lightning_paretopo.callbacks.start_cache import load_start, save_start, start_key
from lightning_paretopo.callbacks.summary import RunSummary
from lightning_paretopo.rewards import Accuracy, RewardHeads, ToolEfficiency
from lightning_paretopo.types import TaskExample

TASKS = [[TaskExample("a", "arith", "2+3?", "5"), TaskExample("b", "arith", "4*4?", "16")]]


def module(policy: Path, **changes: object) -> SimpleNamespace:
    base = {
        "policy_args": PolicyArgs(name_or_path=str(policy)),
        "rollout_args": RolloutArgs(val_greedy=False, test_samples=4),
        "rollout_seed": 0,
        "objectives": RewardHeads([Accuracy(), ToolEfficiency(budget=4)]),
    }
    return SimpleNamespace(**(base | changes))


def test_the_key_follows_everything_the_start_point_depends_on(tmp_path: Path) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "model.safetensors").write_bytes(b"weights")
    key = start_key(module(policy), TASKS)
    assert start_key(module(policy), TASKS) == key  # deterministic
    rollout = RolloutArgs(val_greedy=False, test_samples=4)
    same = module(policy, rollout_args=replace(rollout, group_size=16))  # training only
    assert start_key(same, TASKS) == key
    changed = [
        module(policy, rollout_args=replace(rollout, temperature=0.7)),
        module(policy, rollout_args=replace(rollout, test_samples=8)),
        module(policy, rollout_seed=1),
        module(policy, objectives=RewardHeads([Accuracy(), ToolEfficiency(budget=8)])),
    ]
    for other in changed:
        assert start_key(other, TASKS) != key
    assert start_key(module(policy), [TASKS[0][:1]]) != key  # other test tasks
    (policy / "model.safetensors").write_bytes(b"retrained")  # a new warm start
    assert start_key(module(policy), TASKS) != key


def test_records_round_trip_and_a_miss_is_none(tmp_path: Path) -> None:
    assert load_start(tmp_path, "k") is None
    path = save_start(tmp_path / "cache", "k", {"accuracy": 0.9, "n": 2000})
    assert path == tmp_path / "cache" / "k.json"
    assert load_start(tmp_path / "cache", "k") == {"accuracy": 0.9, "n": 2000}
    assert [p.name for p in path.parent.iterdir()] == ["k.json"]  # no temp file left


def test_run_summary_evaluates_the_start_once_per_key(tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(RunSummary):
        def _evaluate(self, trainer, pl_module):  # the rollout evaluation, counted
            calls.append(1)
            return {"accuracy": 0.5, "tool_calls": 1.0, "n": 8}

    trainer = SimpleNamespace(datamodule=SimpleNamespace(test_dataloader=lambda: TASKS))
    pl_module = module(tmp_path / "hub-id-not-a-dir")
    first = Counting(start_cache_dir=str(tmp_path / "starts"))._start_point(trainer, pl_module)
    second = Counting(start_cache_dir=str(tmp_path / "starts"))._start_point(trainer, pl_module)
    assert len(calls) == 1
    assert first == {"accuracy": 0.5, "tool_calls": 1.0, "n": 8}
    assert second == first | {"cached": True}
    Counting()._start_point(trainer, pl_module)  # no cache dir: always evaluates
    assert len(calls) == 2
