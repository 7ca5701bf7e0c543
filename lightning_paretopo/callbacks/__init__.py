"""Lightning callbacks of ParetoPO: the stage switch, the front logger (table and picture),
the run summary (warm-start and final test points), the resumable last checkpoint and progress
lines for logs that are not a terminal."""

from lightning_paretopo.callbacks.checkpoint import LastCheckpoint
from lightning_paretopo.callbacks.fronts import FrontLogger, front_table
from lightning_paretopo.callbacks.progress_log import ProgressLog
from lightning_paretopo.callbacks.stage_switch import StageSwitch, relative_hv_gain
from lightning_paretopo.callbacks.summary import RunSummary, point_record

__all__ = [
    "FrontLogger",
    "LastCheckpoint",
    "ProgressLog",
    "RunSummary",
    "StageSwitch",
    "front_table",
    "point_record",
    "relative_hv_gain",
]
