"""Functions that misbehave on purpose, importable by an isolated child process in tests."""

from __future__ import annotations

import ctypes
import time


def segfault() -> None:
    """Crash the calling process with SIGSEGV (a read of address 0)."""
    ctypes.string_at(0)


def sleep(seconds: float) -> None:
    """Hang for ``seconds``."""
    time.sleep(seconds)
