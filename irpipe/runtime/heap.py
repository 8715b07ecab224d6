"""The C heap of a process that runs the numpy model: keep freed memory for the next layer.

A forward pass over a 10k-node graph allocates and frees the same few megabyte-sized
temporaries in every layer.  glibc's malloc gives freed memory at the top of the heap back
to the OS and then faults it in again, page by page, for the next temporary: on this VM
that made GELU 3.5x slower and the whole model ~1.5x.  ``M_TOP_PAD`` keeps a pad of freed
heap instead (as ``MALLOC_TOP_PAD_`` would, but settable after start-up).

    USAGE: keep_heap()   # once, before inference; a no-op where malloc is not glibc's
"""

from __future__ import annotations

import ctypes

M_TOP_PAD = -2  # <malloc.h>
DEFAULT_PAD = 64 << 20


def keep_heap(pad_bytes: int = DEFAULT_PAD) -> bool:
    """Keep ``pad_bytes`` of freed memory at the top of the heap; whether it could be set."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: its allocator, its policy
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_TOP_PAD, pad_bytes) == 1
