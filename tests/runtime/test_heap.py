"""irpipe.runtime.heap: glibc's malloc accepts the pad (this project runs on Debian's glibc)."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from irpipe.runtime.heap import keep_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_heap_is_accepted_and_allocation_still_works() -> None:
    assert keep_heap(8 << 20) is True
    a = [np.ones((4000, 64), np.float32) for _ in range(4)]  # 1 MB each, freed below
    assert sum(float(x.sum()) for x in a) == 4 * 4000 * 64
    del a
    assert keep_heap() is True
