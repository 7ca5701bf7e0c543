"""Policies: loading any causal LM, the tiny policy this project trains, and its warm start.

    tiny.py         character tokenizer + tiny Llama config, saved in Hugging Face format
    loading.py      ``load_policy``: hub id or path (or a GGUF file in it), LoRA (peft), 4-bit
    convert.py      GGUF -> a plain local HF directory (``make smollm2``: SmolLM2-135M-Instruct)
    traces.py       warm-start traces built with the real markup and tools
    task_traces.py  per task (arith, kbqa): problems, tools, behaviour mix, fact text
    batches.py      traces -> padded or packed training batches with a policy-token loss mask
    chat_traces.py  GSM8K's worked solutions as calculator-calling traces
    chat_warmstart.py  ``ChatWarmStartDataModule``: traces in a chat model's own template
    trace_data.py   ``TraceDataModule``: the warm starts' shared loaders, held-out tasks and tools
    warmstart.py    ``WarmStartModule`` / ``WarmStartDataModule`` (SFT through the CLI)
    saving.py       save a warm-started policy (LoRA merged into its base) and the LoRA delta norm
    evaluate.py     rollout evaluation by tier x tool use (``warmstart_eval.md``), scored by the
                    reward heads
    ensure.py       run the warm start when a configured local policy is missing
    logprobs.py     token log-probabilities of a batch (the RL forward with grad)

Submodules are imported directly (``from lightning_paretopo.policy.loading import ...``), so
importing the package stays cheap.
"""
