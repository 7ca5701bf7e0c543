"""The warm start: supervised fine-tuning on tool-use traces, before RL, and its evaluation.

    traces.py       warm-start traces built with the real markup and tools
    task_traces.py  per task (arith, kbqa): problems, tools, behaviour mix, fact text
    chat_traces.py  GSM8K's worked solutions as calculator-calling traces
    batches.py      traces -> padded or packed training batches with a policy-token loss mask
    trace_data.py   ``TraceDataModule``: the warm starts' shared loaders, held-out tasks and tools
    module.py       ``WarmStartModule`` / ``WarmStartDataModule`` (SFT through the CLI)
    chat.py         ``ChatWarmStartDataModule``: traces in a chat model's own template, and the
                    chat settings it records beside the policy (``chat_drift``)
    evaluate.py     rollout evaluation by tier x tool use (``warmstart_eval.md``), scored by the
                    reward heads; also ``benchmarks/tiers.py``'s
    ensure.py       run the warm start when a configured local policy is missing

Submodules are imported directly (``from lightning_paretopo.warmstart.module import ...``), so
importing the package stays cheap.
"""
