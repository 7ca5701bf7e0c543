"""``RunCSVLogger``: a ``CSVLogger`` whose resumed fit continues the same ``metrics.csv``.

Lightning's ``CSVLogger`` starts a new ``version_N`` per process and, with a fixed version,
deletes the old ``metrics.csv``; after ``--ckpt_path last`` one run's history was split over two
versions. With ``resume: true`` (the CLI sets it when a fit resumes) this logger reopens the
latest version: the rows logged before the checkpoint stay, the rows of the steps the resumed
run logs again (those at or after its first logged step, which were lost or will be rewritten)
are dropped at the first write, and the new rows are appended, so the file holds every step
once. Rows are written every ``flush_logs_every_n_steps`` steps (default 1 here, not Lightning's
100, so a ``kill -9`` loses at most the step in flight).
"""

from __future__ import annotations

import csv
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class ContinuingWriter(ExperimentWriter):
    """``ExperimentWriter`` that keeps an existing ``metrics.csv`` and truncates it on resume."""

    def __init__(self, log_dir: str, resume: bool) -> None:
        self._resume = resume
        super().__init__(log_dir=log_dir)
        self._truncate_pending = resume and self._fs.isfile(self.metrics_file_path)

    def _check_log_dir_exists(self) -> None:
        if not self._resume:  # a new run: Lightning's behaviour (warn, start a fresh file)
            super()._check_log_dir_exists()

    def save(self) -> None:
        if self._truncate_pending and self.metrics:
            self._truncate_pending = False
            first = min(int(m["step"]) for m in self.metrics)
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                reader = csv.DictReader(file)
                keys, rows = list(reader.fieldnames or []), list(reader)
            kept = [row for row in rows if row.get("step") and int(row["step"]) < first]
            with self._fs.open(self.metrics_file_path, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=keys)
                writer.writeheader()
                writer.writerows(kept)
            self.metrics_keys = sorted(set(self.metrics_keys) | set(keys))
        super().save()


class RunCSVLogger(CSVLogger):
    """``CSVLogger`` that continues its latest version when the fit resumes.

    Args:
        save_dir: the root (filled: the run directory).
        name: the folder under ``save_dir`` (default ``csv``).
        version: a fixed version; default the next one, or on resume the latest one.
        prefix: a prefix for every metric key.
        flush_logs_every_n_steps: write the rows every N steps.
        resume: continue the latest version (set by the CLI when a fit resumes).
    """

    def __init__(
        self,
        save_dir: str = ".",
        name: str = "csv",
        version: int | str | None = None,
        prefix: str = "",
        flush_logs_every_n_steps: int = 1,
        resume: bool = False,
    ) -> None:
        super().__init__(save_dir, name=name, version=version, prefix=prefix,
                         flush_logs_every_n_steps=flush_logs_every_n_steps)  # fmt: skip
        self.resume = resume
        if resume and version is None:
            latest = self._get_next_version() - 1
            self._version = max(latest, 0)

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuingWriter(log_dir=self.log_dir, resume=self.resume)
        return self._experiment
