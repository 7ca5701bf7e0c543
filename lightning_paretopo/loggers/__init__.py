"""Loggers for which one run is one run: a resumed fit continues its W&B run and its CSV file.

- ``RunWandbLogger`` (``wandb_run``): logs at the global step, continues its W&B run on resume
  without logging a step twice, and logs the run's test points.
- ``RunCSVLogger`` (``csv_run``): continues its latest ``metrics.csv`` on resume.
- ``fill_loggers`` (``continuity``): what the CLI fills in (run id, resume, group, tags).
- ``wandb_files``: a reader of W&B's local run files (offline runs, tests, checks).
"""

from lightning_paretopo.loggers.continuity import fill_loggers, record_run_id
from lightning_paretopo.loggers.csv_run import RunCSVLogger
from lightning_paretopo.loggers.wandb_run import RunWandbLogger

__all__ = ["RunCSVLogger", "RunWandbLogger", "fill_loggers", "record_run_id"]
