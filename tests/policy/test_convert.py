"""GGUF policies without the wheel: the plain copy, the packaged file lookup, the config paths."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path, PurePosixPath

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from lightning_paretopo.args import PolicyArgs
from lightning_paretopo.policy import convert
from lightning_paretopo.policy.convert import packaged_gguf, plain_copy
from lightning_paretopo.policy.loading import load_policy
from lightning_paretopo.warmstart.ensure import ensure_policy

pytestmark = pytest.mark.usefixtures("one_thread")


def _tied_llama() -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    # what a GGUF-loaded model carries, and what makes save_pretrained refuse it
    model.config.quantization_config = {"quant_method": "gguf", "gguf_file": "x.gguf"}
    return model


def test_plain_copy_holds_the_same_tensors_without_quantization(tmp_path):
    model = _tied_llama()
    copy = plain_copy(model)
    assert type(copy) is LlamaForCausalLM and not hasattr(copy.config, "quantization_config")
    assert hasattr(model.config, "quantization_config")  # the original is left alone
    ours, theirs = copy.state_dict(), model.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert copy.lm_head.weight.data_ptr() == copy.model.embed_tokens.weight.data_ptr()
    copy.save_pretrained(tmp_path / "plain")
    loaded = LlamaForCausalLM.from_pretrained(tmp_path / "plain").eval()
    ids = torch.tensor([[1, 5, 7, 9]])  # [1, 4]
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits, rtol=0, atol=0)


class _Dist:
    def __init__(self, root: Path, names: list[str]) -> None:
        self.root, self.files = root, [PurePosixPath(n) for n in names]

    def locate_file(self, path: PurePosixPath) -> Path:
        return self.root / path


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (["pkg/__init__.py", "pkg/M.Q4_1.gguf"], None),
        (["pkg/__init__.py"], "ships 0 .gguf files"),
        (["pkg/a.gguf", "pkg/b.gguf"], "ships 2 .gguf files"),
    ],
)
def test_packaged_gguf_reads_the_wheel_file_list(tmp_path, monkeypatch, names, error):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"GGUF")
    monkeypatch.setattr(importlib.metadata, "distribution", lambda d: _Dist(tmp_path, names))
    if error is None:
        assert packaged_gguf("whatever") == tmp_path / "pkg" / "M.Q4_1.gguf"
    else:
        with pytest.raises(FileNotFoundError, match=error):
            packaged_gguf("whatever")


def test_a_missing_wheel_names_the_make_target():
    with pytest.raises(FileNotFoundError, match="run `make smollm2`"):
        packaged_gguf("no-such-distribution-xyz")


def test_gguf_policies_skip_the_warm_start_and_must_exist(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert ensure_policy(str(tmp_path), "configs/warmstart/arith.yaml", "m.gguf") is False
    with pytest.raises(ValueError, match=r"policy.gguf_file: .*other.gguf not found"):
        ensure_policy(str(tmp_path), None, "other.gguf")
    assert ensure_policy("org/model-GGUF", None, "m.gguf") is False  # hub ids are not checked


def test_policy_args_take_gguf_file_and_trust_remote_code():
    args = PolicyArgs(name_or_path="/models", gguf_file="m.gguf", trust_remote_code=True)
    assert (args.gguf_file, args.trust_remote_code) == ("m.gguf", True)
    assert (PolicyArgs().gguf_file, PolicyArgs().trust_remote_code) == (None, False)


@pytest.mark.parametrize("kwargs", [{"load_in_4bit": True, "lora": {}}, {}])
def test_gguf_file_refuses_4bit_and_tiny(kwargs):
    name = "/models" if kwargs else "tiny"
    with pytest.raises(ValueError, match="gguf_file cannot be combined"):
        load_policy(name, gguf_file="m.gguf", **kwargs)


def test_the_command_leaves_a_converted_directory_alone(tmp_path, monkeypatch, caplog):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(convert, "convert_gguf", lambda *a, **k: pytest.fail("must not run"))
    with caplog.at_level(logging.INFO, logger="lightning_paretopo.policy.convert"):
        convert.main(["--out", str(tmp_path), "--gguf", "x.gguf", "--threads", "1"])
    assert "already holds a policy" in caplog.text
