"""Policies: loading and saving any causal LM, its token log-probs, and the tiny policy.

    tiny.py         character tokenizer + tiny Llama config, saved in Hugging Face format
    loading.py      ``load_policy``: hub id or path (or a GGUF file in it), LoRA (peft), 4-bit;
                    ``is_local_path`` and ``require_saved_policy`` (a missing local policy is a
                    clear error: the CLI warm-starts it before anything loads)
    convert.py      GGUF -> a plain local HF directory (``make smollm2``: SmolLM2-135M-Instruct)
    saving.py       save a policy (LoRA merged into its base) and the LoRA delta norm
    logprobs.py     token log-probabilities of a batch (the RL forward with grad)

The warm start that trains the tiny policy (and a chat model's tool use) is its own package,
``lightning_paretopo.warmstart``. Submodules are imported directly
(``from lightning_paretopo.policy.loading import ...``), so importing the package stays cheap.
"""
