"""Benchmarks for the environment: what ``benchmark=`` accepts and the name ``env.benchmark`` gives.

    load_benchmark("benchmarks/programs/crc.c")        # C (compiled at -O0), .ll or .bc; "file://" ok
    load_benchmark(open("m.bc", "rb").read())          # IR text or bitcode as bytes
    load_benchmark("dataset:out/corpus#<hash or row>")  # a module of an irpipe dataset
    load_benchmark("benchmark://irpipe-v0/qsort")      # the built-in default (CompilerGym's is
                                                        # cbench-v1/qsort, which is not shipped)
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path

from irpipe.errors import GymError, IRError
from irpipe.label.runtime import Program
from irpipe.llvm import ir

#: The benchmark an environment starts with when none is given.
DEFAULT_BENCHMARK = "benchmark://irpipe-v0/qsort"

# A small runnable C program (quicksort of pseudo-random integers, checksum printed), so that
# ``gymnasium.make("llvm-v0")`` works with no arguments and no download.
_BUILTIN_SOURCES = {"qsort": r"""
#include <stdio.h>
#include <stdlib.h>
static unsigned seed = 1u;
static int next(void) { seed = seed * 1103515245u + 12345u; return (int)(seed >> 8) % 100000; }
static void sort(int *a, int lo, int hi) {
  while (lo < hi) {
    int p = a[(lo + hi) / 2], i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { int t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { sort(a, lo, j); lo = i; } else { sort(a, i, hi); hi = j; }
  }
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  int *a = malloc(n * sizeof(int));
  for (int i = 0; i < n; i++) a[i] = next();
  sort(a, 0, n - 1);
  unsigned long sum = 0;
  for (int i = 0; i < n; i++) sum = sum * 31 + (unsigned)a[i];
  printf("%d %lu\n", n, sum);
  free(a);
  return 0;
}
"""}
_BUILTIN_PREFIX = "benchmark://irpipe-v0/"


def benchmark_uri(benchmark: str | Path | bytes) -> str:
    """The name ``env.benchmark`` reports: the path or URI as given, or for bytes
    ``benchmark://user-v0/<first 16 hex digits of their sha256>``."""
    if isinstance(benchmark, bytes):
        return f"benchmark://user-v0/{hashlib.sha256(benchmark).hexdigest()[:16]}"
    return str(benchmark)


def load_benchmark(benchmark: str | Path | bytes, args: list[str] | None = None) -> Program:
    """A benchmark from a .c file (compiled at -O0 without optnone), a .ll/.bc file, bytes, a
    dataset module: ``"dataset:DIR#STRUCTURAL_HASH"`` (or ``#N`` for the N-th row), or a
    built-in ``"benchmark://irpipe-v0/NAME"``."""
    if isinstance(benchmark, bytes):
        return Program(ir.check_input(benchmark), name="benchmark", args=list(args or []))
    if not isinstance(benchmark, (str, Path)):
        raise GymError(f"benchmark {benchmark!r} is a {type(benchmark).__name__}; give a path, "
                       "IR bytes, 'dataset:DIR#KEY' or a built-in 'benchmark://irpipe-v0/NAME'")
    text = str(benchmark)
    if text.startswith("dataset:"):
        return _from_dataset(text[len("dataset:"):], args)
    if text.startswith("benchmark://"):
        return _builtin(text, args)
    path = Path(text.removeprefix("file://"))
    if path.suffix == ".c":
        return Program.from_c(path, args=args)
    return Program(ir.read_module(path), name=path.name, args=list(args or []))


def _builtin(uri: str, args: list[str] | None) -> Program:
    name = uri.removeprefix(_BUILTIN_PREFIX)
    if not uri.startswith(_BUILTIN_PREFIX) or name not in _BUILTIN_SOURCES:
        have = ", ".join(_BUILTIN_PREFIX + n for n in _BUILTIN_SOURCES)
        raise GymError(f"unknown benchmark {uri!r}: CompilerGym's datasets are not shipped; irpipe has "
                       f"{have}, or give a .c/.ll/.bc path, IR bytes or 'dataset:DIR#KEY'")
    return Program(_compile_builtin(name), name=f"{name}.c", args=list(args or []))


@functools.lru_cache(maxsize=None)
def _compile_builtin(name: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="irpipe-gym-") as tmp:
        source = Path(tmp) / f"{name}.c"
        source.write_text(_BUILTIN_SOURCES[name])
        return Program.from_c(source).bitcode


def _from_dataset(spec: str, args: list[str] | None) -> Program:
    import pyarrow.compute as pc

    from irpipe.runtime.shards import read_modules

    directory, _, key = spec.partition("#")
    table = read_modules(directory, columns=["content", "structural_hash"])
    if key.isdigit() and int(key) < table.num_rows:
        row = int(key)
    else:
        hits = pc.indices_nonzero(pc.equal(table["structural_hash"], key)).to_pylist()
        if not hits:
            raise IRError(f"no module {key!r} in dataset {directory} (give a structural hash or a row number)")
        row = hits[0]
    return Program(table["content"][row].as_py(), name=f"{directory}#{key}", args=list(args or []))
