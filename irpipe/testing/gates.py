"""Capability gates, in the manner of PyG's testing decorators.

``requires_llvm`` skips when clang-22 is absent; ``slow`` marks suites that run
only with ``-m slow`` (``make test-slow``); ``requires_root`` skips where network
namespaces cannot be made.
"""

from __future__ import annotations

import os
import shutil

import pytest

requires_llvm = pytest.mark.skipif(shutil.which("clang-22") is None, reason="needs clang-22 (LLVM 22)")
requires_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                   reason="needs root and unshare for network-less builds")
slow = pytest.mark.slow
