"""The command line: ``python train.py {fit,validate,test} --config configs/<...>.yaml``.

Contract:
    ``ParetoPOCLI`` is a ``LightningCLI`` with the model and the data in subclass mode: a config
    names any ``LightningModule`` / ``LightningDataModule`` by ``class_path`` and gives its
    ``init_args`` (the constructor signature is the schema; ``--help`` shows the docstrings).
    Commands: fit, validate, test. The resolved config is saved next to the logs on every run
    (``overwrite=True``, so re-running into the same log dir does not fail). ``--experiment``
    and ``--run_name`` override the two names of the run directory
    ``logs/<experiment>/<run_name>-s<seed>`` (``rundir.py``; the benchmark runner sets both).

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

from jsonargparse import Namespace
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from lightning_paretopo.cli_args import nested_nulls_as_dicts, option_strings
from lightning_paretopo.rundir import fill_run_dir


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

    def before_instantiate_classes(self) -> None:
        """Fill the run directory (``rundir.fill_run_dir``) into paths the config left empty."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        sources = [Path(str(p)) for p in (config.get("config") or [])]
        experiment = config.get("experiment") or (sources[0].stem if sources else "run")
        run_dir = fill_run_dir(config, experiment, label=config.get("run_name"))
        if run_dir is not None:
            logging.getLogger(__name__).info("run directory: %s", run_dir)

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
