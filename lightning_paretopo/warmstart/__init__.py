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
    ensure.py       run the warm start when a configured local policy is missing: once, on
                    global rank 0, in a child process (its own Trainer); other ranks wait

When it runs: ``python train.py fit --config configs/warmstart/<task>.yaml`` runs it alone. An
RL config whose ``policy.name_or_path`` is a missing local directory and whose
``policy.warmstart`` names a warm-start config gets it from the CLI (``cli.warm_start_policy`` ->
``ensure.ensure_policy_once``), once per launch on global rank 0 (other ranks wait), after the
classes are constructed (which checks the settings and loads nothing) and before the command
runs; the RL module's ``configure_model`` only loads the policy (``building.build_policy``).
``benchmarks/fronts.py`` calls ``ensure_policy`` itself before it launches runs.

Saving a policy (LoRA merged) and loading one live in ``policy/`` (``policy.saving``,
``policy.loading``). Submodules are imported directly
(``from lightning_paretopo.warmstart.module import ...``), so importing the package stays cheap.
"""
