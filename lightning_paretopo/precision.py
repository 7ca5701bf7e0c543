"""Half precision ("bf16-true", "16-true") with batches of ``TaskExample``.

Lightning's ``HalfPrecision`` plugin converts each batch with ``apply_to_collection``, which
rebuilds dataclasses field by field and raises on frozen ones ("A frozen dataclass was passed
to `apply_to_collection`"), so a batch of ``TaskExample``s (frozen) failed at the first training
step of the GPU configs (``precision: bf16-true``). ``keep_tasks_whole(plugin)`` makes such a
plugin convert the same float tensors and pass frozen dataclasses through as they are (they hold
no tensors); other plugins are left alone. The module calls it in ``setup``.

Not done here: FSDP/DeepSpeed precision plugins (their own ``convert_input``).
"""

from __future__ import annotations

from typing import Any

from lightning.fabric.plugins.precision.utils import _convert_fp_tensor
from lightning.pytorch.plugins.precision import HalfPrecision
from lightning_utilities import apply_to_collection
from torch import Tensor


def keep_tasks_whole(plugin: Any) -> bool:
    """Patch a ``HalfPrecision`` plugin's ``convert_input`` (once); True when it is one."""
    if not isinstance(plugin, HalfPrecision):
        return False
    dtype = plugin._desired_input_dtype

    def convert_input(data: Any) -> Any:
        return apply_to_collection(
            data, function=_convert_fp_tensor, dtype=Tensor, dst_type=dtype, allow_frozen=True
        )

    plugin.convert_input = convert_input
    return True
