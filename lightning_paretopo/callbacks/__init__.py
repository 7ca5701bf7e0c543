"""Lightning callbacks of ParetoPO: the stage switch and the front logger (table and picture)."""

from lightning_paretopo.callbacks.fronts import FrontLogger, front_table
from lightning_paretopo.callbacks.stage_switch import StageSwitch, relative_hv_gain

__all__ = ["FrontLogger", "StageSwitch", "front_table", "relative_hv_gain"]
