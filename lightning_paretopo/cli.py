"""The command line: ``python train.py {fit,validate,test} --config configs/<...>.yaml``.

Contract:
    ``ParetoPOCLI`` is a ``LightningCLI`` with the model and the data in subclass mode: a config
    names any ``LightningModule`` / ``LightningDataModule`` by ``class_path`` and gives its
    ``init_args`` (the constructor signature is the schema; ``--help`` shows the docstrings).
    Commands: fit, validate, test. ``--experiment`` and ``--run_name`` override the two names
    of the run directory ``logs/<experiment>/<run_name>-s<seed>`` (``rundir.py``; the benchmark
    runner sets both). The resolved config is saved next to the logs: ``config.yaml`` by a new
    fit, ``config-resume.yaml`` by a resumed one, ``config-validate.yaml`` / ``config-test.yaml``
    by those commands, so evaluating a finished run never overwrites the config it trained with.

Before any class is built: ``--num_threads`` (default: one torch thread per two cores on
machines with <= 4 cores, unless OMP_NUM_THREADS is set; ``threads.py``) is applied, and a fit's
config is checked across fields (``config_checks.py``: e.g. the stage switch against
``trainer.max_steps``), so those errors come before the policy loads or a run directory exists.

The warm start (fit, validate, test), after the classes are constructed and before the command
runs: when ``model.init_args.policy.name_or_path`` is a missing local directory and
``policy.warmstart`` names a warm-start config, global rank 0 runs that config in a child
process (``warmstart.ensure.ensure_policy_once``: ``python -m lightning_paretopo fit --config
<warm start>``, its own Trainer) and the other ranks of a ``torchrun`` launch wait for the saved
policy; Lightning's own DDP launcher starts them only later, from ``trainer.fit``. Constructing
the module, data and trainer loads nothing (the policy is built in ``configure_model``, which
only loads it) but checks every setting, so a bad setting fails before a warm start of minutes.
Models without such a ``policy`` (the warm start's own, ``policy: tiny``) skip this.

Runs and resumes (``resume.py``, ``runlock.py``), checked before any class is built:
    ``--ckpt_path`` is ``last`` (``<run dir>/checkpoints/last.ckpt``; none yet means a first
    run) or an explicit file, for fit, validate and test. A checkpoint whose method, objectives,
    group size, protocol or tools differ from the config is refused with the fields named,
    unless ``--allow_config_drift true``. A new fit refuses a directory that already holds a
    run's ``last.ckpt``, and while a command runs it holds the directory's ``run.lock``, so a
    second run of the same experiment and name stops with a message instead of mixing files.

Why ``parser_mode="omegaconf"`` and not ``"omegaconf+"``: "omegaconf" resolves ``${...}``
inside each config file when it is loaded, with absolute paths (``${data.init_args.task}``), the
form the Lightning docs use. Its trap: a command-line override (``--data.init_args.task=kbqa``)
is applied after that resolution and does not reach the fields interpolated from it.
"omegaconf+" resolves once after all sources are merged (so overrides propagate) but wants
relative interpolations and resolves leniently across subclass ``init_args``, which hides
mistakes. The shipped configs therefore use no interpolation for any value one would override:
each such value is written out once, and what depends on it (e.g. the policy's ``output_dir``)
has a default computed in code.

Deliberately not done: no ``predict`` command, no argument links (links in subclass mode would
tie every model to one data module's argument names).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from lightning_paretopo.cli_args import nested_nulls_as_dicts, option_strings
from lightning_paretopo.config_checks import check_fit_config
from lightning_paretopo.loggers import fill_loggers, record_run_id
from lightning_paretopo.resume import (
    RunConfigRecord,
    as_hparams,
    config_drift,
    other_changes,
    resolve_ckpt_path,
    saved_config,
)
from lightning_paretopo.rundir import checkpoint_dir, fill_run_dir, run_label
from lightning_paretopo.runlock import RunLock, check_fresh_start
from lightning_paretopo.threads import apply_num_threads
from lightning_paretopo.warmstart.ensure import ensure_policy_once, launch_rank_zero

log = logging.getLogger(__name__)


def warm_start_policy(config: Any) -> bool:
    """Run the warm start of ``model.init_args.policy`` (one command's config) when its local
    policy is missing: ``warmstart.ensure.ensure_policy_once`` (rank 0 runs it, other ranks
    wait). True when this process ran it."""
    policy = config.get("model.init_args.policy") if "model" in config else None
    if not isinstance(policy, Namespace | dict) or not policy.get("name_or_path"):
        return False
    name_or_path, gguf_file = str(policy.get("name_or_path")), policy.get("gguf_file")
    return ensure_policy_once(name_or_path, policy.get("warmstart"), gguf_file)


class ParetoPOCLI(LightningCLI):
    """``LightningCLI`` with omegaconf configs and subclass-mode model and data."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """``--experiment`` and ``--run_name``: the two parts of the run directory's name."""
        parser.add_argument(
            "--experiment",
            type=str | None,
            default=None,
            help="Run directory logs/<experiment>/...; default: the first config file's stem.",
        )
        parser.add_argument(
            "--run_name",
            type=str | None,
            default=None,
            help="Run directory .../<run_name>-s<seed>; default: the method's label.",
        )
        parser.add_argument(
            "--allow_config_drift",
            type=bool,
            default=False,
            help="Resume (or evaluate) a checkpoint although the method, objectives, group "
            "size, protocol or tools in the config differ from the checkpoint's.",
        )
        parser.add_argument(
            "--num_threads",
            type=int | None,
            default=None,
            help="torch intra-op threads; default: OMP_NUM_THREADS when set, else one per two "
            "cores on machines with <= 4 cores (lightning_paretopo/threads.py), else torch's.",
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """``--a.b.c null`` means None at any depth (``cli_args.nested_nulls_as_dicts``)."""
        if isinstance(args, dict | Namespace):
            return super().parse_arguments(parser, args)
        parsers = [parser, *getattr(self, "_subcommand_parsers", {}).values()]
        options = option_strings(parsers)
        if args is None:  # sys.argv, read here (Lightning warns when it gets both)
            self.config = parser.parse_args(nested_nulls_as_dicts(sys.argv[1:], options))
            return None
        return super().parse_arguments(parser, nested_nulls_as_dicts(list(args), options))

    def _parse_ckpt_path(self) -> None:
        """Lightning's merge of the checkpoint's hyperparameters into the config is off: it
        hides changed settings and fails in subclass mode. ``_check_resume`` replaces it."""

    def before_instantiate_classes(self) -> None:
        """Set torch's threads, check the config across fields (``config_checks``), fill the
        run directory into empty paths, check the resume, then fill the loggers' run id and
        resume flags (``loggers.continuity``; nothing built yet)."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        apply_num_threads(config.get("num_threads"))
        if self.subcommand == "fit":
            for warning in check_fit_config(self._dump()):
                log.warning("%s", warning)
        sources = [Path(str(p)) for p in (config.get("config") or [])]
        experiment = config.get("experiment") or (sources[0].stem if sources else "run")
        self.run_dir = fill_run_dir(config, experiment, label=config.get("run_name"))
        self.run_lock: RunLock | None = None
        self.wandb_id: str | None = None
        self.run_config: dict[str, Any] | None = None
        if self.run_dir is None or not self.subcommand:
            return
        log.info("run directory: %s", self.run_dir)
        resuming = self._check_resume(config)
        label = run_label(config, config.get("run_name"))
        self.wandb_id = fill_loggers(config, self.run_dir, self.subcommand, resuming, experiment,
                                     label)  # fmt: skip
        name = "config.yaml" if self.subcommand == "fit" and not resuming else None
        name = name or ("config-resume.yaml" if self.subcommand == "fit" else None)
        self.save_config_kwargs["config_filename"] = name or f"config-{self.subcommand}.yaml"

    def _check_resume(self, config: Any) -> bool:
        """Resolve ``--ckpt_path``; refuse drift, or a new fit over an earlier run. Resuming?"""
        dump = self._dump()
        current = {"model": as_hparams(dump.get("model")), "data": as_hparams(dump.get("data"))}
        self.run_config = current
        ckpt_dir = checkpoint_dir(config)
        ckpt = resolve_ckpt_path(config.get("ckpt_path"), ckpt_dir)
        if ckpt is None:
            if config.get("ckpt_path") == "last":
                log.warning(
                    "--ckpt_path last: no last.ckpt in %s yet, starting at step 0", ckpt_dir
                )
            if self.subcommand == "fit" and launch_rank_zero() and ckpt_dir is not None:
                check_fresh_start(self.run_dir, Path(ckpt_dir) / "last.ckpt")
            return False
        saved = saved_config(ckpt)
        drift = config_drift(saved, current)
        if drift and not config.get("allow_config_drift"):
            raise ValueError(
                f"--ckpt_path {ckpt}: the config changes what this run means:\n  "
                + "\n  ".join(drift)
                + "\nRestore these settings, or pass --allow_config_drift true to go on anyway."
            )
        for line in drift:
            log.warning("config drift allowed by --allow_config_drift: %s", line)
        changed = other_changes(saved, current)
        if changed:
            log.info("settings changed since the checkpoint: %s", ", ".join(changed))
        log.info("%s from %s", "resuming" if self.subcommand == "fit" else "evaluating", ckpt)
        return True

    def _dump(self) -> dict[str, Any]:
        """This command's config as plain YAML types (as ``config.yaml`` will hold it)."""
        dump = yaml.safe_load(self.parser.dump(self.config, skip_none=False, format="yaml"))
        return dump[self.subcommand]

    def _run_subcommand(self, subcommand: str) -> None:
        """Run the command holding ``<run dir>/run.lock`` (rank 0), released when it ends, also
        on an error; record the config in every checkpoint for the next resume's drift check.
        First the warm start of a missing local policy (``warm_start_policy``)."""
        if self.run_config is not None:
            self.trainer.callbacks.append(RunConfigRecord(self.run_config))
        if self.run_dir is not None and launch_rank_zero():
            self.run_lock = RunLock(self.run_dir).acquire(" ".join(sys.argv))
            if self.wandb_id is not None:  # a new fit's W&B run, for its resumes
                record_run_id(self.run_dir, self.wandb_id)
        try:
            warm_start_policy(self.config[subcommand])  # before trainer.fit builds the policy
            super()._run_subcommand(subcommand)
        finally:
            if self.run_lock is not None:
                self.run_lock.release()

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """fit, validate and test (no predict)."""
        return {
            "fit": {"model", "train_dataloaders", "val_dataloaders", "datamodule"},
            "validate": {"model", "dataloaders", "datamodule"},
            "test": {"model", "dataloaders", "datamodule"},
        }


def main(args: ArgsType = None, run: bool = True) -> ParetoPOCLI:
    """Run the CLI. ``args`` overrides ``sys.argv[1:]`` (a list, as in tests).

    Args:
        args: command-line arguments, e.g. ``["fit", "--config", "configs/warmstart/arith.yaml"]``.
        run: False parses and instantiates only (``args`` must then omit the subcommand).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    mode: dict[str, Any] = {"parser_mode": "omegaconf"}
    # The main parser reads a --config given before the subcommand, each subcommand's its own.
    parser_kwargs = {**mode, **{name: dict(mode) for name in ParetoPOCLI.subcommands()}}
    return ParetoPOCLI(
        model_class=None,
        datamodule_class=None,
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_kwargs={"overwrite": True},
        parser_kwargs=parser_kwargs if run else mode,
        args=args,
        run=run,
    )
