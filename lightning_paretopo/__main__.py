"""``python -m lightning_paretopo fit --config ...``: the same entry point as train.py."""

from lightning_paretopo.cli import main

main()
