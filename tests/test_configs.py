"""Every shipped config parses and instantiates through the real CLI, and the quickstart runs.

Each test runs in its own temporary working directory (``monkeypatch.chdir``), so the run
directories the CLI fills in (``logs/<experiment>/<method>-s<seed>``, ``data/``) land under
tmp_path; configs are passed by absolute path. Two kinds of YAML live under configs/:

- experiment configs (they have ``model`` with a ``class_path`` and ``data``): instantiated
  alone, on CPU, with the data files they name written (tiny but valid) under the working
  directory and, when they train a local tiny policy, its path pointed at a saved random one;
- method overlays (``configs/methods/*``: only ``model.init_args.method``) and ablation
  overlays (``configs/ablations/*``: the method, and for the fixed switch the callback list)
  and task overlays (``configs/tasks/*``: the data and the objectives): instantiated on top of
  the quickstart, as their headers say.

Hub policies (``Qwen/...``) are NOT loaded: the module loads its policy lazily in
``configure_model``; a guard makes any network connection during instantiation fail the test.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from lightning_paretopo.cli import main
from lightning_paretopo.module import ParetoPOModule
from tests.helpers import tiny_quickstart

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
QUICKSTART = REPO / "configs" / "quickstart.yaml"
CPU = ["--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.strategy=auto"]
CPU += ["--trainer.precision=32-true"]

GSM8K_RECORD = {"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}
IRCOT_RECORD = {
    "question_id": "q1",
    "question_text": "Who founded Zerco?",
    "answers_objects": [{"spans": ["Sulas Pun"]}],
    "contexts": [{"title": "Zerco", "paragraph_text": "Zerco was founded by Sulas Pun."}],
}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def is_experiment(config: dict[str, Any]) -> bool:
    return "data" in config and "class_path" in (config.get("model") or {})


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    return tmp_path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"network access during config instantiation: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def write_data_files(config: dict[str, Any]) -> None:
    """Write a small valid file at every local data path the config's DataModule names."""
    init = (config.get("data") or {}).get("init_args") or {}
    for key in ("train_source", "val_source", "test_source", "corpus_source"):
        source = init.get(key)
        if not source or not str(source).endswith((".jsonl", ".json")):
            continue
        path = Path(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        kind = init.get("kind") or ("qa" if "hotpot" in str(source) else "gsm8k")
        record = IRCOT_RECORD if kind == "qa" else GSM8K_RECORD
        path.write_text(json.dumps(record) + "\n")


def policy_override(config: dict[str, Any], policy: Path) -> list[str]:
    """Point a local ParetoPO policy, or a warm start's local pretrained policy (built at
    construction), at ``policy``; hub ids and the warm starts' fresh tiny policies stay."""
    model = config.get("model") or {}
    if model.get("class_path", "").endswith("WarmStartModule"):
        name = (model.get("init_args") or {}).get("policy", "tiny")
        return [] if name == "tiny" or _is_hub_id(name) else [f"--model.init_args.policy={policy}"]
    if not model.get("class_path", "").endswith("ParetoPOModule"):
        return []
    name = ((model.get("init_args") or {}).get("policy") or {}).get("name_or_path", "")
    return [] if _is_hub_id(name) else [f"--model.init_args.policy.name_or_path={policy}"]


def _is_hub_id(name: str) -> bool:
    return name.count("/") == 1 and not name.startswith((".", "/", "~", "logs/", "data/"))


def instantiate(args: list[str]) -> Any:
    return main(args, run=False)


def test_the_config_list_is_not_empty() -> None:
    names = {p.relative_to(REPO / "configs").as_posix() for p in CONFIGS}
    assert {"quickstart.yaml", "warmstart/arith.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.relative_to(REPO / "configs").as_posix())
def test_config_instantiates(
    path: Path, tiny_policy: Path, workdir: Path, no_network: None
) -> None:
    config = load(path)
    if is_experiment(config):
        write_data_files(config)
        args = ["--config", str(path), *CPU, *policy_override(config, tiny_policy)]
    else:  # a method, ablation or task (configs/tasks: data, objectives) overlay on the quickstart
        allowed = {"ablations": {"model", "trainer"}, "tasks": {"data", "model"}}
        allowed = allowed.get(path.parent.name, {"model"})
        assert set(config) <= allowed, f"{path.name}: an overlay should only change {allowed}"
        assert set(config.get("trainer") or {}) <= {"callbacks"}, f"{path.name}: callbacks only"
        args = ["--config", str(QUICKSTART), "--config", str(path)]
        args += policy_override(load(QUICKSTART), tiny_policy)
    cli = instantiate(args)
    assert cli.trainer is not None and cli.datamodule is not None
    model = cli.model
    # Lightning refuses to log a module and a DataModule hparam of one name with two values.
    a, b = model.hparams_initial, cli.datamodule.hparams_initial
    clash = [k for k in a.keys() & b.keys() - {"_class_path"} if a[k] != b[k]]
    assert not clash, f"module and DataModule hparams clash on {clash}"
    if isinstance(model, ParetoPOModule):
        assert model.policy is None  # loaded lazily, in configure_model
        expected = (config.get("model") or {}).get("init_args", {}).get("method", {}).get("name")
        if expected is not None:
            assert model.method == expected
        assert len(model.current_weights() if model.stage == 1 else model.frozen_weights) == len(
            model.objective_names
        )


def test_the_ablation_overlays_change_only_what_they_name(
    tiny_policy: Path, workdir: Path, no_network: None
) -> None:
    """Each ablation is paretopo with one change; the fixed switch keeps the callback list."""
    expected = {
        "paretopo_no_credit": ("stage2", "credit", False),
        "paretopo_tie_crowding": ("stage2", "tie_break", "crowding"),
        "paretopo_tie_domination": ("stage2", "tie_break", "domination"),
        "paretopo_tie_none": ("stage2", "tie_break", "none"),
        "paretopo_tau_high": ("stage2", "tau", 0.9),
    }
    ablations = REPO / "configs" / "ablations"
    assert {p.stem for p in ablations.glob("*.yaml")} == {*expected, "paretopo_fixed_switch"}
    policy = policy_override(load(QUICKSTART), tiny_policy)
    base = instantiate(["--config", str(QUICKSTART), *policy]).model.method_args
    for name, (stage, field, value) in expected.items():
        overlay = ["--config", str(QUICKSTART), "--config", str(ablations / f"{name}.yaml")]
        args = instantiate([*overlay, *policy]).model.method_args
        mine, theirs = getattr(args, stage), getattr(base, stage)
        assert getattr(mine, field) == value != getattr(theirs, field)
        setattr(mine, field, getattr(theirs, field))
        assert args == base, f"{name} changes more than {stage}.{field}"
    fixed = ablations / "paretopo_fixed_switch.yaml"
    ours, theirs = load(fixed)["trainer"]["callbacks"], load(QUICKSTART)["trainer"]["callbacks"]
    assert [c["class_path"] for c in ours] == [c["class_path"] for c in theirs]
    for mine, base_cb in zip(ours, theirs, strict=True):
        if not mine["class_path"].endswith("StageSwitch"):
            assert mine == base_cb, "keep the overlay's callbacks in step with the quickstart's"
    cli = instantiate(["--config", str(QUICKSTART), "--config", str(fixed), *policy])
    switches = [cb for cb in cli.trainer.callbacks if type(cb).__name__ == "StageSwitch"]
    assert len(switches) == 1 and switches[0].fixed_step == 30
    assert cli.model.method_args == base
    kinds = {type(cb).__name__ for cb in cli.trainer.callbacks}
    assert {"LastCheckpoint", "FrontLogger", "RunSummary"} <= kinds


def test_hub_policy_is_not_loaded_at_instantiation(workdir: Path, no_network: None) -> None:
    hub = [p for p in CONFIGS if "Qwen/" in p.read_text()]
    if not hub:
        pytest.skip("no config names a hub policy")
    config = load(hub[0])
    write_data_files(config)
    cli = instantiate(["--config", str(hub[0]), *CPU])
    assert cli.model.policy is None and cli.model.policy_args.name_or_path.startswith("Qwen/")


def test_quickstart_runs_end_to_end(tiny_policy: Path, workdir: Path) -> None:
    tiny = tiny_quickstart()
    policy = f"--model.init_args.policy.name_or_path={tiny_policy}"
    cli = main(["fit", "--config", str(QUICKSTART), policy, *tiny])
    assert cli.trainer.global_step == 2
    run_dir = workdir / "logs" / "quickstart" / "paretopo-s0"
    for name in ["summary.json", "fronts.png", "checkpoints/last.ckpt", "config.yaml"]:
        assert (run_dir / name).is_file(), f"{name} missing; run dir holds {os.listdir(run_dir)}"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["method"] == "paretopo" and summary["global_step"] == 2
    assert summary["start"]["tasks"] == summary["final"]["tasks"] == 4
    samples = cli.model.rollout_args.test_samples  # the quickstart samples each test task k times
    assert summary["final"]["samples_per_task"] == samples and summary["final"]["n"] == 4 * samples
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 and checkpoint["paretopo"]["stage"] == 1
    restored = ParetoPOModule.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert restored.method_args == cli.model.method_args and restored.stage == 1
    for p, q in zip(restored.policy.parameters(), cli.model.policy.parameters(), strict=True):
        assert torch.equal(p, q)
    saved = load(run_dir / "config.yaml")
    assert saved["model"]["init_args"]["policy"]["name_or_path"] == str(tiny_policy)
