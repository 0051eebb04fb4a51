"""Hand freed heap memory back to the operating system between the big steps of a hotspot run.

glibc's ``malloc`` keeps freed memory in its arenas for reuse, and raises its mmap threshold after
large frees, so a run that builds and drops many mid-sized arrays (ids, labels, WKB, FFT buffers)
holds 60-80 MiB more resident memory than it uses: measured on the 50 m Bedfordshire KDE
(496,787 cells; ``benchmarks/kde_memory.py``, docs/report.md). ``malloc_trim(0)`` releases it.
Results never depend on this; on other C libraries (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); True when memory was released.

    Examples
    --------
    >>> isinstance(release_free_memory(), bool)
    True
    """
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
