"""The DataModule's ``tools`` decide what every task offers, whatever the reader put there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_paretopo.data import FileTaskDataModule
from lightning_paretopo.data.datamodule_base import offer_tools
from lightning_paretopo.rollout.chat import ChatTemplateProtocol
from lightning_paretopo.tools.registry import markup_names
from lightning_paretopo.types import TaskExample
from tests.rollout.conftest import make_char_tokenizer
from tests.rollout.test_chat import ADDED, QWEN_TEMPLATE


def _gsm8k(tmp_path: Path, n: int = 40) -> Path:
    path = tmp_path / "gsm8k_train.jsonl"
    rows = [
        {"question": f"What is {i} + {i}?", "answer": f"{i}+{i}\n#### {2 * i}"} for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_offer_tools_replaces_only_what_differs():
    same = TaskExample("a", "arith", "1+1?", "2", tools=("calculator",))
    other = TaskExample("b", "gsm8k", "q", "1", tools=("python",), meta={"x": 1})
    out = offer_tools([same, other], ("calculator",))
    assert out[0] is same
    assert out[1].tools == ("calculator",) and out[1].meta == {"x": 1} and out[1].id == "b"


def test_markup_names_map_registry_names_to_the_tags_they_answer():
    assert markup_names(["calculator", "python"]) == ("calculator", "python")
    assert markup_names(["retriever"]) == ("search",)
    with pytest.raises(ValueError, match="unknown tool 'abacus'"):
        markup_names(["abacus"])


@pytest.mark.parametrize(
    ("tools", "offered"), [(["calculator"], ("calculator",)), (None, ("python",))]
)
def test_gsm8k_tasks_offer_the_datamodule_tools(tmp_path, tools, offered):
    dm = FileTaskDataModule(train_source=str(_gsm8k(tmp_path)), tools=tools, batch_size=2)
    dm.setup("fit")
    assert {t.tools for split in dm.splits.values() for t in split} == {offered}


def test_the_chat_prompt_offers_only_the_calculator_for_gsm8k_with_tools_calculator(tmp_path):
    dm = FileTaskDataModule(train_source=str(_gsm8k(tmp_path)), tools=["calculator"])
    dm.setup("fit")
    tok = make_char_tokenizer(added=ADDED, eos="<|im_end|>", bos=False)
    tok.chat_template = QWEN_TEMPLATE
    prompt = ChatTemplateProtocol(tok).render_prompt(dm.splits["train"][0])
    assert '"name": "calculator"' in prompt and '"name": "python"' not in prompt
