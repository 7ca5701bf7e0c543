"""Entry point: ``python train.py fit --config configs/warmstart/arith.yaml``."""

from lightning_paretopo.cli import main

if __name__ == "__main__":
    main()
