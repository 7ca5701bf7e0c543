"""``python -m lightning_paretopo fit --config ...`` (the same entry point as train.py), and
``python -m lightning_paretopo fronts <folder>`` (the fronts of many runs side by side)."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "fronts":
    from lightning_paretopo.fronts.command import main as fronts_main

    sys.exit(fronts_main(sys.argv[2:]))

from lightning_paretopo.cli import main  # noqa: E402

main()
