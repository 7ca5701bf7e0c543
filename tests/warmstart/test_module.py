"""Warm start: schedule, evaluation table and its reward heads, and a real fit through the CLI."""

from __future__ import annotations

import csv
import io
import logging
import math
import sys
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch.cli import instantiate_class
from transformers import AutoModelForCausalLM, AutoTokenizer

from lightning_paretopo.cli import main
from lightning_paretopo.rewards import RewardHeads
from lightning_paretopo.warmstart.evaluate import Sample, markdown_table, tier_table
from lightning_paretopo.warmstart.module import (
    WarmStartDataModule,
    WarmStartModule,
    warmup_cosine,
)

REPO = Path(__file__).resolve().parents[2]


def test_warmup_cosine_pinned_values() -> None:
    assert warmup_cosine(0, 10, 110, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 110, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 110, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(60, 10, 110, 0.1) == pytest.approx(0.55)  # halfway: (1 + 0.1) / 2
    assert warmup_cosine(110, 10, 110, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(500, 10, 110, 0.1) == pytest.approx(0.1)


def test_tier_table_splits_by_tool_use() -> None:
    samples = [
        Sample("easy", 0, 1.0, True),
        Sample("easy", 0, 0.0, True),
        Sample("easy", 1, 1.0, True),
        Sample("hard", 2, 1.0, False),
        Sample("hard", 1, 0.0, True),
        Sample("hard", 0, 0.0, True),
    ]
    table = tier_table(samples)
    assert list(table) == ["easy", "hard", "all"]
    assert table["easy"] == {
        "n": 3.0, "acc_tool": 1.0, "acc_no_tool": 0.5, "frac_tool": pytest.approx(1 / 3),
        "mean_calls": pytest.approx(1 / 3), "well_formed": 1.0, "accuracy": pytest.approx(2 / 3),
    }  # fmt: skip
    assert table["hard"]["acc_tool"] == 0.5 and table["hard"]["mean_calls"] == 1.0
    assert table["hard"]["well_formed"] == pytest.approx(2 / 3)
    assert table["all"]["acc_no_tool"] == pytest.approx(1 / 3)
    only_direct = tier_table([Sample("easy", 0, 1.0, True)])
    assert math.isnan(only_direct["easy"]["acc_tool"])
    text = markdown_table(only_direct)
    assert text.splitlines()[2] == "| easy | 1 | - | 1.000 | 0.000 | 0.000 | 1.000 | 1.000 |"


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match="task"):
        WarmStartDataModule(task="gsm8k")
    with pytest.raises(ValueError, match="n_train"):
        WarmStartDataModule(n_train=0)
    with pytest.raises(ValueError, match="min_lr_ratio"):
        WarmStartModule(min_lr_ratio=2.0)
    with pytest.raises(ValueError, match="lora"):
        WarmStartModule(lora={"r": 4})


def _objectives(config: Path) -> list[tuple[str, dict]]:
    """The reward heads a config builds (``model.init_args.objectives``, else the default
    accuracy + tool_efficiency), as (class, attributes) pairs."""
    spec = yaml.safe_load(config.read_text())["model"]["init_args"].get("objectives")
    if spec is None:
        heads = RewardHeads.from_names(["accuracy", "tool_efficiency"])
    else:
        heads = RewardHeads([instantiate_class((), h) for h in spec["init_args"]["heads"]])
    return [(type(h).__name__, vars(h)) for h in heads]


def test_warm_starts_score_with_the_heads_of_the_rl_configs_that_load_them() -> None:
    """Each RL config that names a warm start (``policy.warmstart``) and that warm start score
    answers alike: e.g. SmolLM2's reads only ``<answer>`` tags in both."""
    pairs = []
    for config in sorted((REPO / "configs").rglob("*.yaml")):
        model = (yaml.safe_load(config.read_text()) or {}).get("model") or {}
        policy = (model.get("init_args") or {}).get("policy")  # a warm start's is a string
        warmstart = policy.get("warmstart") if isinstance(policy, dict) else None
        if warmstart:
            pairs.append((config.name, Path(warmstart).name))
            assert _objectives(REPO / warmstart) == _objectives(config), (config, warmstart)
    assert ("smollm2_gsm8k_cpu.yaml", "smollm2_arith.yaml") in pairs and len(pairs) >= 3
    smollm2 = _objectives(REPO / "configs" / "warmstart" / "smollm2_arith.yaml")
    assert smollm2[0][1]["answer_formats"] == ("answer_tag",)


def _tiny_config(tmp_path: Path, task: str) -> Path:
    """The shipped config of ``task``, shrunk to seconds, with every path under tmp_path."""
    config = yaml.safe_load((REPO / "configs" / "warmstart" / f"{task}.yaml").read_text())
    trainer = config["trainer"]
    trainer.update(max_steps=4, limit_val_batches=1, enable_progress_bar=False, log_every_n_steps=1)
    trainer["val_check_interval"] = 4  # the 4 steps are less than an epoch
    trainer["logger"]["init_args"]["save_dir"] = str(tmp_path / "logs")
    trainer["callbacks"][0]["init_args"]["dirpath"] = str(tmp_path / "ckpt")
    model = config["model"]["init_args"]
    model["tiny_config"] = {"hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 64}
    model["output_dir"] = str(tmp_path / "policy")
    model["evaluation"].update(greedy=True, samples_per_task=2, max_new_tokens=16)
    model["evaluation"]["max_total_tokens"] = 96
    data = config["data"]["init_args"]
    data.update(n_train=48, n_val=8, n_eval=6, batch_size=8, fact_passes=1)
    if task == "kbqa":
        data["corpus_dir"] = str(tmp_path / "kbqa")
    path = tmp_path / f"{task}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_arith_warm_start_runs_through_the_cli_and_saves_a_loadable_policy(tmp_path) -> None:
    threads = torch.get_num_threads()
    try:
        cli = main(["fit", "--config", str(_tiny_config(tmp_path, "arith"))])
    finally:
        torch.set_num_threads(threads)
    assert cli.trainer.global_step == 4
    policy = tmp_path / "policy"
    model = AutoModelForCausalLM.from_pretrained(policy)
    tok = AutoTokenizer.from_pretrained(policy)
    ids = torch.tensor([tok("Q: What is 2+3?\n").input_ids])  # [1, T]
    cli.model.model.eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, cli.model.model(ids).logits)
    report = (policy / "warmstart_eval.md").read_text()
    header = (
        "| tier | n | acc_tool | acc_no_tool | frac_tool | mean_calls | well_formed | accuracy |"
    )
    assert header in report
    assert "Scored by the reward heads ['accuracy', 'tool_efficiency']" in report
    assert "## sampled (temperature 1.0, 2 per task)" in report and "## greedy" in report
    assert (tmp_path / "ckpt" / "last.ckpt").is_file()
    metrics_file = next((tmp_path / "logs").rglob("metrics.csv"))
    rows = list(csv.DictReader(metrics_file.open()))
    assert any(r.get("train/loss") for r in rows) and any(r.get("val/loss") for r in rows)
    n_all = [
        r["warmstart_eval/sampled/all/n"] for r in rows if r.get("warmstart_eval/sampled/all/n")
    ]
    assert n_all == ["12.0"]  # 6 held-out problems x 2 samples


def test_warm_start_logs_progress_when_stdout_is_not_a_terminal(tmp_path, monkeypatch, caplog):
    """Under nohup or CI the warm start logs step/total, loss, elapsed and ETA, and so does its
    rollout evaluation (``ProgressLog``, added by ``WarmStartModule.configure_callbacks``)."""
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a TTY, like a nohup or CI log
    caplog.set_level(logging.INFO, logger="lightning_paretopo")
    threads = torch.get_num_threads()
    try:
        main(["fit", "--config", str(_tiny_config(tmp_path, "arith"))])
    finally:
        torch.set_num_threads(threads)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("lightning_paretopo")]

    def logged(prefix: str, *parts: str) -> bool:
        return any(line.startswith(prefix) and all(p in line for p in parts) for line in lines)

    assert logged("train step 1/4 (25%) | train/loss ", "| elapsed ", "| ETA "), lines
    assert logged("train step 4/4 (100%) | train/loss ", "| ETA 0s"), lines
    assert logged("val done: 1 batches in ", "| val/loss "), lines
    assert logged("warm-start eval, sampled: rollouts 12/12 (100%) | elapsed "), lines
    assert logged("warm-start eval, greedy: rollouts 6/6 (100%) | elapsed "), lines


def test_kbqa_data_module_builds_real_search_traces(tmp_path) -> None:
    dm = WarmStartDataModule(
        task="kbqa", n_train=20, n_val=4, n_eval=5, fact_passes=1, facts_per_trace=4,
        corpus_dir=str(tmp_path / "kbqa"),
    )  # fmt: skip
    dm.setup("fit")
    texts = [t for t in dm.data.train if t.behaviour == "text"]
    assert len(texts) == 26  # 101 well-known sentences, 4 per trace
    assert len(dm.data.train) == 20 + 26 and len(dm.eval_tasks()) == 5
    assert set(dm.tool_specs()) == {"search"}
    assert (tmp_path / "kbqa" / "world-0" / "corpus.jsonl").is_file()
    searched = [t for t in dm.data.train if t.n_calls]
    assert searched and all("<information>Doc 1 (Title: " in t.text for t in searched)
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, list) and len(batch) == 32  # raw traces: the module tokenizes


@pytest.mark.slow
def test_full_arith_warm_start_meets_the_acceptance_numbers(tmp_path, monkeypatch) -> None:
    """The shipped arith config end to end (minutes): the numbers the warm start promises."""
    monkeypatch.chdir(tmp_path)
    cli = main(["fit", "--config", str(REPO / "configs" / "warmstart" / "arith.yaml")])
    rows = list(csv.DictReader(next((tmp_path / "logs").rglob("metrics.csv")).open()))
    final = {k: float(v) for r in rows for k, v in r.items() if k.startswith("warmstart") and v}
    sampled = "warmstart_eval/sampled"
    hard_gap = final[f"{sampled}/hard/acc_tool"] - final[f"{sampled}/hard/acc_no_tool"]
    easy_gap = final[f"{sampled}/easy/acc_tool"] - final[f"{sampled}/easy/acc_no_tool"]
    assert hard_gap >= 0.30
    assert abs(easy_gap) <= 0.10
    assert final[f"{sampled}/all/well_formed"] >= 0.95
    assert 0.3 <= final[f"{sampled}/all/mean_calls"] <= 2.0
    assert (tmp_path / "logs" / "policies" / "tiny-arith" / "warmstart_eval.md").is_file()
    assert cli.trainer.global_step > 0
