"""The task DataModules: raw batches, the resumable stream (also through a real Trainer), held-out
sets, tools and corpora, and fail-fast configuration."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest
import torch
from jsonargparse import ArgumentParser
from lightning import LightningModule
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_paretopo.data import (
    ArithDataModule,
    FileTaskDataModule,
    KBQADataModule,
    generate_arith,
    split_of,
)
from lightning_paretopo.data.sampler import epoch_permutation
from lightning_paretopo.tools import build_tools
from tests.helpers import make_trainer


def _arith(tmp_path: Path, **kwargs) -> ArithDataModule:
    args = {"train_size": 12, "val_size": 5, "test_size": 7, "batch_size": 4, "seed": 3}
    return ArithDataModule(data_dir=str(tmp_path / "data"), **(args | kwargs))


def _ids(batch) -> list[str]:
    return [t.id for t in batch]


def _take(dm: ArithDataModule, n: int) -> list[list[str]]:
    """The next ``n`` training batches (ids), across passes, as a training loop would take them."""
    out: list[list[str]] = []
    while len(out) < n:
        for batch in dm.train_dataloader():
            out.append(_ids(batch))
            if len(out) == n:
                break
    return out


def test_batches_are_raw_task_lists_in_the_seeded_stream_order(tmp_path):
    dm = _arith(tmp_path)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 3 and all(isinstance(b, list) and len(b) == 4 for b in batches)
    order = epoch_permutation(12, 3, 0)
    assert [t for b in batches for t in b] == [dm.splits["train"][i] for i in order]
    assert batches[0][0].prompt.startswith("What is ") and batches[0][0].tools == ("calculator",)


def test_transfer_moves_tensors_and_leaves_tasks_alone(tmp_path):
    dm = _arith(tmp_path)
    batch = next(iter(dm.train_dataloader()))
    meta = torch.device("meta")  # a real move without an accelerator
    assert dm.transfer_batch_to_device(batch, meta, 0) == batch
    mixed = {"tasks": batch, "input_ids": torch.ones(4, 3, dtype=torch.long)}
    moved = dm.transfer_batch_to_device(mixed, meta, 0)
    assert moved["tasks"] == batch and moved["tasks"][0] is batch[0]
    assert moved["input_ids"].device == meta and moved["input_ids"].shape == (4, 3)


@pytest.mark.parametrize("load_before_setup", [True, False])
def test_state_dict_restores_the_data_position(tmp_path, load_before_setup):
    dm = _arith(tmp_path)
    _take(dm, 4)  # crosses into the second pass
    state = dm.state_dict()
    assert state == {
        "consumed_batches": 4, "batch_size": 4, "world_size": 1, "num_tasks": 12, "seed": 3,
    }  # fmt: skip
    expected = _take(dm, 5)

    fresh = _arith(tmp_path)
    if load_before_setup:
        fresh.load_state_dict(state)
        fresh.setup("fit")
    else:
        fresh.setup("fit")
        fresh.load_state_dict(state)
    assert _take(fresh, 5) == expected


def test_changed_global_batch_resumes_after_the_same_number_of_prompts(tmp_path, caplog):
    dm = _arith(tmp_path, batch_size=6)
    dm.setup("fit")
    with caplog.at_level(logging.WARNING):
        dm.load_state_dict(
            {"consumed_batches": 3, "batch_size": 4, "world_size": 1, "num_tasks": 12, "seed": 3}
        )
    assert dm.state_dict()["consumed_batches"] == 2  # 12 prompts = 2 batches of 6
    assert "global batch changed" in caplog.text
    with pytest.raises(ValueError, match="missing"):
        dm.load_state_dict({"consumed_batches": 1})


class _Recorder(LightningModule):
    """Records the task ids of every training batch; one parameter so there is a step."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[list[str]] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(_ids(batch))
        return (self.w - 1).pow(2).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(
    tmp_path: Path, run: str, every: dict, ckpt_path: str | None = None, **stop
) -> tuple[list, list]:
    """Fit the recorder, saving last.ckpt ``every`` steps or epochs; returns ids and warnings."""
    model = _Recorder()
    checkpoint = ModelCheckpoint(
        dirpath=tmp_path / run / "ckpt", save_last=True, save_top_k=0, **every
    )
    trainer = make_trainer(
        tmp_path / run, stop.pop("max_steps", -1), [checkpoint], limit_val_batches=0,
        enable_checkpointing=True, num_sanity_val_steps=2, **stop,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, datamodule=_arith(tmp_path), ckpt_path=ckpt_path)
    return model.seen, [str(w.message) for w in caught]


@pytest.mark.parametrize(
    ("every", "first", "then", "cut"),
    [
        # mid-epoch: Lightning restarts the epoch (and would also restore a stateful loader)
        ({"every_n_train_steps": 1}, {"max_steps": 4}, {"max_steps": 7}, 4),
        # after an epoch end: Lightning starts a fresh epoch; only the DataModule state restores
        (
            {"every_n_epochs": 1, "save_on_train_epoch_end": True},
            {"max_epochs": 1},
            {"max_epochs": 3},
            3,
        ),
    ],
)
def test_trainer_resume_sees_exactly_the_uninterrupted_batches(tmp_path, every, first, then, cut):
    # 12 tasks, B=4: 3 batches per pass; the full run crosses two passes.
    full, _ = _fit(tmp_path, "full", every, **then)
    assert len(full) in (7, 9)
    assert sorted(i for b in full[:3] for i in b) == sorted(i for b in full[3:6] for i in b)
    assert full[:3] != full[3:6]  # the second pass is reshuffled

    seen, _ = _fit(tmp_path, "resumed", every, **first)
    assert seen == full[:cut]
    last = tmp_path / "resumed" / "ckpt" / "last.ckpt"
    assert torch.load(last, weights_only=False)["ArithDataModule"]["consumed_batches"] == cut
    rest, caught = _fit(tmp_path, "resumed", every, ckpt_path=str(last), **then)
    assert rest == full[cut:]
    assert not [w for w in caught if "not resumable" in w]


def test_arith_held_out_sets_are_fixed_ordered_and_disjoint(tmp_path):
    dm = ArithDataModule(batch_size=8, val_batch_size=100, data_dir=str(tmp_path))
    dm.setup("fit")
    assert (len(dm.splits["train"]), len(dm.splits["val"]), len(dm.splits["test"])) == (
        10000, 256, 500,
    )  # fmt: skip
    # the warm start's 500 held-out problems (same generator call, same seed)
    assert dm.splits["test"] == generate_arith(500, 0, split="test")
    train = {t.meta["expression"] for t in dm.splits["train"]}
    for split in ("val", "test"):
        assert {split_of(t.meta["expression"]) for t in dm.splits[split]} == {split}
        assert train.isdisjoint(t.meta["expression"] for t in dm.splits[split])
    batches = [_ids(b) for b in dm.test_dataloader()]
    assert [len(b) for b in batches] == [100] * 5
    assert batches == [_ids(b) for b in dm.test_dataloader()]  # fixed, unshuffled
    assert [i for b in batches for i in b] == _ids(dm.splits["test"])
    assert dm.hparams.batch_size == 8 and dm.hparams.test_size == 500


def test_arith_train_seed_gives_fresh_training_draws_and_the_same_held_out_sets(tmp_path):
    base = ArithDataModule(train_size=200, val_size=50, test_size=60, data_dir=str(tmp_path))
    fresh = ArithDataModule(
        train_size=200, val_size=50, test_size=60, train_seed=1, data_dir=str(tmp_path)
    )
    base.setup("fit")
    fresh.setup("fit")
    assert base.splits["train"] == generate_arith(200, 0, split="train")  # the SFT draws
    assert fresh.splits["train"] == generate_arith(200, 1, split="train")
    assert fresh.splits["train"] != base.splits["train"]
    for split in ("val", "test"):
        assert fresh.splits[split] == base.splits[split]


def test_arith_distinct_eval_and_its_pool_limit(tmp_path):
    dm = ArithDataModule(train_size=50, test_size=500, eval_distinct=True, data_dir=str(tmp_path))
    dm.setup("test")
    expressions = [t.meta["expression"] for t in dm.splits["test"]]
    assert len(expressions) == len(set(expressions)) == 500
    easy = ArithDataModule(
        train_size=50, val_size=0, test_size=500, tiers=("easy",), eval_distinct=True,
        data_dir=str(tmp_path),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"test_size=500 exceeds the 19 distinct"):
        easy.setup("test")


def test_kbqa_writes_its_corpus_and_the_search_tool_finds_the_first_hop(tmp_path):
    data_dir = tmp_path / "new" / "data"
    dm = KBQADataModule(batch_size=4, test_size=10, data_dir=str(data_dir))
    assert dm.tools == ("search",)
    assert dm.corpus_path == data_dir / "kbqa-world0-corpus.jsonl"
    dm.prepare_data()
    lines = dm.corpus_path.read_text().splitlines()
    assert len(lines) == 336 and json.loads(lines[0])["id"] == "kb-0000"
    dm.corpus_path.unlink()
    dm.setup("fit")  # regenerated when missing
    assert dm.corpus_path.is_file()
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [600, 91, 10]
    train_prompts = {t.prompt for t in dm.splits["train"]}
    assert train_prompts.isdisjoint(t.prompt for t in dm.splits["val"] + dm.splits["test"])

    tools = build_tools(dm.tool_specs())
    task = dm.splits["test"][0]
    hop = task.meta["hops"][0]
    result = tools["search"](hop["query"])
    assert result.ok and hop["object"] in result.text.splitlines()[0]


def test_kbqa_search_returns_search_k_passages_like_the_warm_start(tmp_path):
    for k in (1, 2):
        dm = KBQADataModule(batch_size=4, test_size=10, data_dir=str(tmp_path), search_k=k)
        dm.setup("fit")
        assert dm.tool_specs()["search"]["k"] == k
        search = build_tools(dm.tool_specs())["search"]
        assert search.k == k
    with pytest.raises(ValueError, match="search_k must be >= 1"):
        KBQADataModule(search_k=0, data_dir=str(tmp_path))


def test_file_module_carves_held_out_splits_and_drops_overlaps(tmp_path):
    records = [
        {"question": f"Q{i}: what is {i} + 1?", "answer": f"x\n#### {i + 1}"} for i in range(60)
    ]
    train = tmp_path / "gsm8k_train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in records))
    val = tmp_path / "gsm8k_val.jsonl"
    val.write_text(json.dumps(records[0] | {"question": "  q0: WHAT is 0 + 1? "}) + "\n")

    dm = FileTaskDataModule(train_source=str(train), val_source=str(val), batch_size=2)
    assert dm.kind == "gsm8k" and dm.tools == ("python",) and dm.corpus_path is None
    dm.setup("fit")
    test_prompts = [t.prompt for t in dm.splits["test"]]
    assert test_prompts and all(split_of(p) == "test" for p in test_prompts)
    assert len(dm.splits["val"]) == 1
    train_prompts = {t.prompt for t in dm.splits["train"]}
    assert "Q0: what is 0 + 1?" not in train_prompts  # in val (case and spacing ignored)
    assert train_prompts.isdisjoint(test_prompts)
    assert len(train_prompts) + len(test_prompts) == 59
    assert len(next(iter(dm.train_dataloader()))) == 2

    too_many = FileTaskDataModule(train_source=str(train), test_size=1000)
    with pytest.raises(ValueError, match=r"test_size=1000 exceeds"):
        too_many.setup("test")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: ArithDataModule(batch_size=0, data_dir=d), "batch_size must be >= 1"),
        (lambda d: ArithDataModule(val_batch_size=0, data_dir=d), "val_batch_size"),
        (lambda d: ArithDataModule(tiers=("tricky",), data_dir=d), "tiers"),
        (lambda d: KBQADataModule(test_size=62, data_dir=d), r"test_size=62 exceeds the 61"),
        (lambda d: FileTaskDataModule("x.jsonl", kind="poetry"), "kind must be one of"),
        (lambda d: FileTaskDataModule("notes.jsonl"), "cannot infer"),
        (lambda d: FileTaskDataModule(f"{d}/missing/gsm8k.jsonl"), "train_source: .*missing/gsm8k"),
        (lambda d: FileTaskDataModule("/no/hotpot.jsonl", kind="qa"), "train_source"),
        (lambda d: FileTaskDataModule(f"{d}/gsm8k.jsonl", tools=["abacus"]), "tools: unknown"),
    ],
)
def test_bad_config_fails_fast_naming_the_field(tmp_path, make, match):
    (tmp_path / "gsm8k.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n')
    with pytest.raises(ValueError, match=match):
        make(str(tmp_path))


def test_search_without_a_corpus_fails_fast(tmp_path):
    qa = tmp_path / "hotpot.jsonl"
    qa.write_text('{"question": "q", "answer": "a"}\n')
    with pytest.raises(ValueError, match="corpus_source nor corpus_path"):
        FileTaskDataModule(str(qa))
    assert FileTaskDataModule(str(qa), tools=["retriever"]).tools == ("retriever",)


def test_signature_is_the_cli_schema():
    parser = ArgumentParser()
    parser.add_class_arguments(ArithDataModule, "data")
    cfg = parser.parse_args(["--data.batch_size=3", "--data.test_size=7", "--data.seed=2"])
    assert (cfg.data.batch_size, cfg.data.test_size, cfg.data.seed) == (3, 7, 2)


def test_real_hotpotqa_files(shared_data, tmp_path):
    ircot = shared_data / "hotpotqa" / "dev_subsampled_500_ircot_with_contexts.jsonl"
    dev = shared_data / "hotpotqa" / "dev_500_r1searcher.jsonl"
    train = shared_data / "multihop_train" / "r1searcher_stage2_hotpotqa_2wiki_train.jsonl"
    for path in (ircot, dev, train):
        if not path.is_file():
            pytest.skip(f"{path} not found")
    dm = FileTaskDataModule(
        str(train), val_source=str(dev), test_source=str(ircot), val_size=100,
        corpus_source=str(ircot), data_dir=str(tmp_path), batch_size=16,
    )  # fmt: skip
    assert dm.corpus_path == tmp_path / "dev_subsampled_500_ircot_with_contexts-corpus.jsonl"
    dm.prepare_data()
    assert len(dm.corpus_path.read_text().splitlines()) == 4858  # SOURCES.md
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("val", "test")] == [100, 500]
    assert len(dm.splits["train"]) == 8148  # the train file shares no question with dev


class _RankRecorder(_Recorder):
    """Writes the ids each rank saw to ``<out>/rank<r>.json`` (ranks run in forked processes)."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out

    def on_train_end(self) -> None:
        (self.out / f"rank{self.global_rank}.json").write_text(json.dumps(self.seen))


def test_ddp_ranks_get_disjoint_whole_prompts_of_one_global_stream(tmp_path):
    trainer = make_trainer(tmp_path, 5, devices=2, strategy="ddp_fork", limit_val_batches=0)
    trainer.fit(_RankRecorder(tmp_path), datamodule=_arith(tmp_path, train_size=20, batch_size=3))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    single = _take(_arith(tmp_path, train_size=20, batch_size=6), 5)
    assert [a + b for a, b in zip(*ranks, strict=True)] == single
    for a, b in zip(*ranks, strict=True):
        assert len(a) == len(b) == 3 and set(a).isdisjoint(b)
