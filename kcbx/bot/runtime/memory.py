"""Giving memory back to the system after a large and rare piece of work.

A district's ledger holds its cases, their actions and a workbook being written: tens of
megabytes at a province's scale, freed when the export returns. Python hands the freed blocks
to the C allocator, which keeps them for the process (a bot that exports once a week would
carry the export's peak all week). Collecting the cycles and asking glibc to trim its heap
returns them; elsewhere (musl, macOS) the trim is left out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back() -> None:
    """Collect what is garbage and return the freed heap to the system."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


__all__ = ["give_back"]
