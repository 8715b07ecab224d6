"""Shared by the label tests: a tiny real program for the cachegrind/callgrind measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.llvm.tools import Toolchain

# sums the odd values of n pseudo-random numbers; exits 1 for n == 7 (a failing run)
TINY = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000, s = 0;
  long *a = malloc(sizeof(long) * n);
  for (long i = 0; i < n; i++) a[i] = (i * 7919) % 1009;
  for (long i = 0; i < n; i++) if (a[i] & 1) s += a[i];
  printf("%ld\n", s);
  return (int)(n == 7);
}
"""


@pytest.fixture
def tiny_exe(tmp_path: Path) -> Path:
    """The tiny program built with clang-22 -O2 (callers gate on LLVM and valgrind)."""
    (tmp_path / "t.c").write_text(TINY)
    exe = tmp_path / "t"
    Toolchain().run("clang", ["-O2", str(tmp_path / "t.c"), "-o", str(exe)])
    return exe
