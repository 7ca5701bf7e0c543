"""Small real pieces for the rollout tests: char tokenizers, a scripted policy, toy tools."""

from __future__ import annotations

import string
from types import SimpleNamespace

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, processors
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from lightning_paretopo.tools.base import ToolResult

CHARS = string.printable[:95] + "\n"  # digits, letters, punctuation, space, newline
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


def make_char_tokenizer(
    merges: tuple[tuple[str, str], ...] = (),
    added: tuple[str, ...] = (),
    eos: str = "<eos>",
    bos: bool = True,
) -> PreTrainedTokenizerFast:
    """Character tokenizer; ``merges`` add multi-char tokens, so decode->encode can re-merge."""
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for ch in dict.fromkeys(CHARS):
        vocab[ch] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=list(merges), unk_token="<unk>"))
    core.decoder = decoders.Fuse()
    if bos:
        core.post_processor = processors.TemplateProcessing(
            single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])]
        )
    core.add_special_tokens(list(added))
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token=eos,
        pad_token="<pad>",
        unk_token="<unk>",
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


class ScriptCache(list):
    """The scripted policy's "KV cache": each row's real context ids, row-selectable."""

    def batch_select_indices(self, index: torch.Tensor) -> None:
        self[:] = [self[i] for i in index.tolist()]


class ScriptedPolicy(torch.nn.Module):
    """Emits, for each row, the next token of the first target its context is a prefix of.

    Its cache (``ScriptCache``) holds each row's real context ids (fed tokens whose attention
    mask is 1), so it follows the engine through prefill, decoding and later turns' feeds;
    off-script rows emit ``filler_id``. ``widths`` records the width of every fed block.
    """

    def __init__(self, targets: list[list[int]], vocab_size: int, filler_id: int) -> None:
        super().__init__()
        self.targets = targets
        self.vocab_size = vocab_size
        self.filler_id = filler_id
        self.widths: list[int] = []

    def _next(self, ctx: list[int]) -> int:
        for target in self.targets:
            if len(target) > len(ctx) and target[: len(ctx)] == ctx:
                return target[len(ctx)]
        return self.filler_id

    def forward(self, input_ids, attention_mask, position_ids=None, cache=None, use_cache=True):
        width = input_ids.shape[1]
        self.widths.append(width)
        fed = attention_mask[:, -width:].bool()
        new = [row[m].tolist() for row, m in zip(input_ids, fed, strict=True)]
        ctx = ScriptCache(
            new if cache is None else [c + n for c, n in zip(cache, new, strict=True)]
        )
        logits = torch.full((len(ctx), 1, self.vocab_size), -1e9)
        for row, c in enumerate(ctx):
            logits[row, 0, self._next(c)] = 0.0
        return SimpleNamespace(logits=logits, cache=ctx)


class ForcedLlama(LlamaForCausalLM):
    """A random Llama whose next token is forced at some absolute positions (``force``)."""

    force: dict[int, int]

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        out = super().forward(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs
        )
        table = torch.full((max(self.force) + 2,), -1)  # forced id per position, -1 = free
        table[list(self.force)] = torch.tensor(list(self.force.values()))
        next_pos = position_ids[:, -out.logits.shape[1] :] + 1  # [R, K] positions predicted
        forced = table[next_pos.clamp(max=len(table) - 1)]  # [R, K]
        where = (forced >= 0).nonzero(as_tuple=True)
        out.logits[where] = -1e9
        out.logits[(*where, forced[where])] = 0.0
        return out


class AdderTool:
    """``calculator`` stand-in: sums integers separated by "+"; ok=False otherwise."""

    name = "calculator"

    def __call__(self, text: str) -> ToolResult:
        try:
            return ToolResult(ok=True, text=str(sum(int(x) for x in text.split("+"))))
        except ValueError:
            return ToolResult(ok=False, text=f"cannot add {text!r}", error="bad_input")


class EchoTool:
    """``search`` stand-in: echoes its query reversed."""

    name = "search"

    def __call__(self, text: str) -> ToolResult:
        return ToolResult(ok=True, text=text[::-1])


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run faster on one thread, and far steadier on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tok() -> PreTrainedTokenizerFast:
    """Char tokenizer where ("a","b") and ("c",">") merge: encode(decode(ids)) != ids."""
    return make_char_tokenizer(merges=(("a", "b"), ("c", ">")))


@pytest.fixture
def tools() -> dict:
    return {"calculator": AdderTool(), "search": EchoTool()}


def llama_config(tok: PreTrainedTokenizerFast, **overrides) -> LlamaConfig:
    """A 2-layer, hidden-32 Llama config over ``tok``'s vocabulary."""
    return LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        **overrides,
    )


@pytest.fixture
def tiny_llama(tok: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(llama_config(tok)).eval()
