"""``resume.py``: what ``--ckpt_path`` names, and which config changes count as drift."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_paretopo.resume import (
    RunConfigRecord,
    as_hparams,
    config_drift,
    leaf_changes,
    other_changes,
    resolve_ckpt_path,
    saved_config,
)

MODEL = {
    "_class_path": "lightning_paretopo.module.ParetoPOModule",
    "method": {"name": "paretopo", "stage2": {"tau": 0.5}},
    "objectives": {"init_args": {"heads": [{"init_args": {"budget": 4}}]}},
    "rollout": {"group_size": 8, "protocol": "tagged", "temperature": 1.0},
    "loss": {"clip_eps": 0.2},
    "policy": {"lora": {"r": 8, "lora_alpha": 16}},
}


def _with(tree: dict, path: str, value: object) -> dict:
    import copy

    tree = copy.deepcopy(tree)
    *keys, last = path.split(".")
    node = tree
    for key in keys:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return tree


def test_last_is_the_run_dirs_last_ckpt_and_none_before_the_first(tmp_path: Path) -> None:
    assert resolve_ckpt_path("last", tmp_path) is None  # a first run: nothing to resume
    (tmp_path / "last.ckpt").write_bytes(b"x")
    assert resolve_ckpt_path("last", tmp_path) == tmp_path / "last.ckpt"
    assert resolve_ckpt_path(None, tmp_path) is None
    assert resolve_ckpt_path("best", tmp_path) is None  # Lightning's own alias


def test_an_explicit_path_must_exist_and_last_needs_a_checkpoint_dir(tmp_path: Path) -> None:
    ckpt = tmp_path / "epoch=0-step=2.ckpt"
    ckpt.write_bytes(b"x")
    assert resolve_ckpt_path(str(ckpt), None) == ckpt
    with pytest.raises(FileNotFoundError, match="--ckpt_path .*missing.ckpt: no such checkpoint"):
        resolve_ckpt_path(str(tmp_path / "missing.ckpt"), tmp_path)
    with pytest.raises(ValueError, match="LastCheckpoint"):
        resolve_ckpt_path("last", None)


def test_as_hparams_flattens_a_cli_section() -> None:
    section = {"class_path": "a.B", "init_args": {"x": 1}, "dict_kwargs": {"y": 2}}
    assert as_hparams(section) == {"_class_path": "a.B", "x": 1, "y": 2}
    assert as_hparams(None) == {"_class_path": None}


def test_leaf_changes_descend_into_dicts_and_lists() -> None:
    a = {"x": {"y": [1, {"z": 2}]}, "gone": 1}
    b = {"x": {"y": [1, {"z": 3}]}, "new": 2}
    changes = [(path, before, now) for path, before, now in leaf_changes(a, b)]
    assert [c[0] for c in changes] == ["x.y.1.z", "gone", "new"]
    assert changes[0][1:] == (2, 3)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("rollout.group_size", 4, "model.rollout.group_size: 8 in the checkpoint, 4 now"),
        ("method.name", "otc", "model.method.name: 'paretopo' in the checkpoint, 'otc' now"),
        ("method.stage2.tau", 0.9, "model.method.stage2.tau: 0.5 in the checkpoint, 0.9 now"),
        (
            "objectives.init_args.heads.0.init_args.budget",
            8,
            "model.objectives.init_args.heads.0.init_args.budget: 4 in the checkpoint, 8 now",
        ),
        (
            "rollout.protocol",
            "chat",
            "model.rollout.protocol: 'tagged' in the checkpoint, 'chat' now",
        ),
        (
            "policy.lora.lora_alpha",
            32,
            "model.policy.lora.lora_alpha: 16 in the checkpoint, 32 now",
        ),
    ],
)
def test_meaning_changes_are_drift(path: str, value: object, expected: str) -> None:
    current = {"model": _with(MODEL, path, value), "data": {}}
    assert config_drift({"model": MODEL, "data": {}}, current) == [expected]


def test_other_changes_are_not_drift_but_are_listed() -> None:
    current = {"model": _with(_with(MODEL, "loss.clip_eps", 0.3), "rollout.temperature", 0.7)}
    saved = {"model": MODEL}
    assert config_drift(saved, current) == []
    assert other_changes(saved, current) == ["model.rollout.temperature", "model.loss.clip_eps"]


def test_a_checkpoint_without_a_record_is_not_compared(tmp_path: Path) -> None:
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    saved = saved_config(path)
    assert saved == {"model": {}, "data": {}}
    assert config_drift(saved, {"model": MODEL, "data": {}}) == []


def test_the_record_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    checkpoint: dict = {"state_dict": {"w": torch.zeros(2)}}
    RunConfigRecord({"model": MODEL, "data": {"_class_path": "d.D"}}).on_save_checkpoint(
        None, None, checkpoint
    )
    torch.save(checkpoint, tmp_path / "c.ckpt")
    assert saved_config(tmp_path / "c.ckpt") == {"model": MODEL, "data": {"_class_path": "d.D"}}
