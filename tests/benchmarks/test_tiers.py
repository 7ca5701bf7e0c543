"""benchmarks/tiers.py: the per-tier evaluation of a config's policy or of a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from benchmarks.tiers import (
    calls_table,
    evaluate,
    load_checkpoint_policy,
    parse_args,
    point_hypervolume,
    tool_budget,
)
from lightning_paretopo.policy.evaluate import Sample
from lightning_paretopo.policy.loading import load_policy

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_thread")


def small_config(tmp_path: Path, policy: Path) -> Path:
    """The quickstart with the tiny random policy, short turns and a private data dir."""
    config = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    model = config["model"]["init_args"]
    model["policy"] = {"name_or_path": str(policy)}
    model["rollout"] |= {"max_turns": 2, "max_new_tokens": 8, "max_total_tokens": 64}
    config["data"]["init_args"]["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_calls_table_groups_by_tier_and_calls_with_3_plus_pooled() -> None:
    samples = [Sample("hard", 1, True, True), Sample("hard", 1, False, True)]
    samples += [Sample("hard", 4, False, True), Sample("easy", 0, True, True)]
    assert calls_table(samples).splitlines()[2:] == [
        "| easy | 0 | 1 | 1.000 |",
        "| hard | 1 | 2 | 0.500 |",
        "| hard | 3+ | 1 | 0.000 |",
    ]


def test_point_hypervolume_is_accuracy_times_capped_efficiency() -> None:
    samples = [Sample("hard", 1, True, True), Sample("hard", 6, False, True)]
    # accuracy 1/2; efficiency (1 - 1/4 + 1 - 4/4) / 2 = 3/8 (6 calls capped at the budget 4)
    assert point_hypervolume(samples, budget=4) == pytest.approx(0.5 * 0.375)


def test_tool_budget_reads_the_config_head_and_refuses_configs_without_one() -> None:
    config = yaml.safe_load((REPO / "configs" / "kbqa_tiny.yaml").read_text())
    assert tool_budget(config["model"]["init_args"]) == 4
    with pytest.raises(ValueError, match="no ToolEfficiency head"):
        tool_budget({"objectives": {"init_args": {"heads": []}}})


def test_evaluate_reports_every_sample_of_the_split(tiny_policy: Path, tmp_path: Path) -> None:
    config = small_config(tmp_path, tiny_policy)
    args = parse_args(["--config", str(config), "--size", "6", "--samples", "2"])
    report = evaluate(args)
    assert report.startswith(f"{tiny_policy}: 6 val tasks x 2 samples (T=1)")
    tier_rows = [ln for ln in report.splitlines() if ln.startswith("| all |")]
    assert tier_rows and tier_rows[0].split("|")[2].strip() == "12"  # 6 tasks x 2 samples
    lines = report.splitlines()
    start = lines.index("| tier | calls | n | accuracy |") + 2  # after the separator
    counts = [int(ln.split("|")[3]) for ln in lines[start:] if ln.startswith("|")]
    assert sum(counts) == 12
    assert "accuracy 0.000" in report  # a random policy answers nothing right
    assert report.rstrip().endswith("HV 0.000")


def test_checkpoint_weights_replace_the_policy_and_must_be_present(
    tiny_policy: Path, tmp_path: Path
) -> None:
    policy, _ = load_policy(str(tiny_policy))
    state = {f"policy.{k}": torch.zeros_like(v) for k, v in policy.state_dict().items()}
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": state | {"hv_weights.w": torch.ones(2)}}, ckpt)
    load_checkpoint_policy(policy, ckpt)
    assert all(bool((p == 0).all()) for p in policy.parameters())
    torch.save({"state_dict": {"other.weight": torch.ones(1)}}, ckpt)
    with pytest.raises(ValueError, match="no 'policy.\\*' weights"):
        load_checkpoint_policy(policy, ckpt)


def test_an_adapter_only_checkpoint_loads_onto_the_configured_base(
    tiny_policy: Path, tmp_path: Path
) -> None:
    lora = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    policy, _ = load_policy(str(tiny_policy), lora=lora)
    base = {k: v.clone() for k, v in policy.state_dict().items() if ".lora_" not in k}
    adapters = {k: torch.full_like(v, 0.5) for k, v in policy.state_dict().items() if ".lora_" in k}
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {f"policy.{k}": v for k, v in adapters.items()}}, ckpt)
    load_checkpoint_policy(policy, ckpt)
    after = policy.state_dict()
    assert all(torch.equal(after[k], v) for k, v in adapters.items())
    assert all(torch.equal(after[k], v) for k, v in base.items())  # the base is untouched
    bad = {f"policy.{k}": v for k, v in list(adapters.items())[1:]}  # one adapter missing
    torch.save({"state_dict": bad}, ckpt)
    with pytest.raises(ValueError, match="lacks 1 trainable weights"):
        load_checkpoint_policy(policy, ckpt)
