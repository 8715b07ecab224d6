"""Factories for test inputs generated at test time: IR strings, C trees, recipes, shards."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from irpipe.llvm import ir
from irpipe.paths import PACKAGE
from irpipe.schema import to_table

SIMPLE_IR = textwrap.dedent("""\
    define i32 @add(i32 %a, i32 %b) {
    entry:
      %s = add i32 %a, %b
      ret i32 %s
    }

    define i32 @loop(i32 %n) {
    entry:
      br label %head
    head:
      %i = phi i32 [ 0, %entry ], [ %next, %head ]
      %next = add i32 %i, 1
      %done = icmp sge i32 %next, %n
      br i1 %done, label %exit, label %head
    exit:
      ret i32 %i
    }
    """)

MAKEFILE = textwrap.dedent("""\
    CC ?= cc
    AR ?= ar
    OBJS = {objs}
    all: libt.a
    %.o: %.c
    \t{pre}$(CC) -O2 -c $< -o $@
    %.o: %.s
    \t$(CC) -c $< -o $@
    libt.a: $(OBJS)
    \t$(AR) rcs $@ $^
    """)


def c_tree(root: Path, sources: dict[str, str], *, pre: str = "", extra_objs: tuple[str, ...] = ()) -> Path:
    """A make-built C tree: each ``name.c`` in ``sources`` compiles into libt.a.

    ``pre`` is a shell command run before each compile (e.g. ``sleep 2;``).
    """
    root.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (root / name).write_text(textwrap.dedent(text))
    objs = [n.rsplit(".", 1)[0] + ".o" for n in sources if n.endswith((".c", ".s"))] + list(extra_objs)
    (root / "Makefile").write_text(MAKEFILE.format(objs=" ".join(objs), pre=pre))
    return root


def recipe(path: Path, name: str, *, kind: str = "local", src: str | None = None, build: str = "make",
           license: str | None = "MIT", extra: str = "", version: str = "1.0", timeout: float = 120) -> Path:
    """Write a recipe TOML; returns its path."""
    lines = [f'[package]\nname = "{name}"\nversion = "{version}"\n', f'[source]\nkind = "{kind}"']
    if src is not None:
        lines.append(f'path = "{src}"')
    lines.append(f'\n[build]\nkind = "{build}"\ntimeout = {timeout}\n{extra}')
    if license:
        lines.append(f'\n[license]\nexpression = "{license}"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def module_rows(ir_texts: dict[str, str], *, package: str = "pkg", language: str = "c") -> list[dict[str, Any]]:
    """MODULES rows for IR strings (compiled to bitcode in-process), as a shard factory."""
    rows = []
    for name, text in ir_texts.items():
        mod = ir.parse(text, name=name)
        bc = mod.as_bitcode()
        info = ir.inspect(bc)
        rows.append({
            "content": bc, "license_expression": "MIT", "license_source": "recipe", "license_files": "",
            "package_source": f"local:{package}", "language": language, "package_name": package,
            "package_version": "1", "recipe_id": f"test/{package}", "source_kind": "local", "build_kind": "make",
            "source_path": name, "object_path": name + ".o", "compile_command": "", "target_triple": info.target_triple,
            "llvm_version": ir.llvm_version(), "structural_hash": info.structural_hash, "bitcode_size": len(bc),
            "function_count": info.function_count, "instruction_count": info.instruction_count,
        })
    return rows


def modules_table(ir_texts: dict[str, str], **kw: Any):
    """A stamped MODULES table built from IR strings."""
    return to_table(module_rows(ir_texts, **kw), "modules")


#: Hand-written IR for graph tests; node and edge counts derived by hand in tests/llvm/test_graph.py.
GRAPH_IR = textwrap.dedent("""\
    @g = global i32 5

    declare i32 @ext(i32)

    define i32 @sq(i32 %x) {
    entry:
      %m = mul i32 %x, %x
      ret i32 %m
    }

    define i32 @main(i32 %n) {
    entry:
      %c = icmp sgt i32 %n, 0
      br i1 %c, label %pos, label %neg
    pos:
      %s = call i32 @sq(i32 %n)
      br label %done
    neg:
      %e = call i32 @ext(i32 %n)
      br label %done
    done:
      %r = phi i32 [ %s, %pos ], [ %e, %neg ]
      %v = load i32, ptr @g
      %t = add i32 %r, %v
      ret i32 %t
    }
    """)

SAMPLE_DIR = PACKAGE.parent / "datasets" / "default" / "sample"  # the checkout's (tests run from one)


def sample_modules(n: int, *, max_instructions: int = 5000, languages: tuple[str, ...] = (
        "c", "c++", "rust", "python-numba")) -> list[tuple[str, bytes]]:
    """Up to ``n`` real modules from the committed default-dataset sample, spread over
    languages and sizes: (``package:object_path``, bitcode)."""
    import pyarrow.parquet as pq

    picked: list[tuple[str, bytes]] = []
    per_lang = max(1, n // len(languages))
    for lang in languages:
        rows = []
        for shard in sorted((SAMPLE_DIR / lang).glob("*.parquet")):
            t = pq.read_table(shard, columns=["content", "package_name", "object_path",
                                              "instruction_count"])
            rows += [r for r in t.to_pylist() if 0 < r["instruction_count"] <= max_instructions]
        rows.sort(key=lambda r: (r["instruction_count"], r["object_path"]))
        step = max(1, len(rows) // per_lang)
        picked += [(f"{r['package_name']}:{r['object_path']}", r["content"]) for r in rows[::step][:per_lang]]
    return picked[:n]


def many_ir(n: int) -> dict[str, str]:
    """``n`` distinct small modules (different constants and shapes) as IR text."""
    return {f"m{i}.c": SIMPLE_IR.replace("add i32 %i, 1", f"add i32 %i, {i + 2}")
            .replace("@add", f"@add{i}") for i in range(n)}


def write_dataset(root: Path, ir_texts: dict[str, str], *, extra_rows: list[dict[str, Any]] = ()) -> Path:
    """A one-shard dataset directory ``root/c/train-00000.parquet`` of MODULES rows."""
    import pyarrow.parquet as pq

    rows = module_rows(ir_texts) + list(extra_rows)
    path = root / "c" / "train-00000.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows, "modules"), path)
    return root


def generated_c(functions: int = 10, *, seed: int = 0) -> str:
    """A C file of ``functions`` generated kernels (loops, branches, arrays, calls to the
    previous kernel) and a ``main``: ~100 IR instructions per kernel at -O0, so the
    default 10 give a ~1,000-instruction module."""
    import random

    rng = random.Random(seed)
    ops = ("+", "-", "*", "^", "|", "&")
    out = ["#include <stdio.h>", "static int buf[256];"]
    for f in range(functions):
        a, b, c = rng.randrange(1, 97), rng.randrange(1, 89), rng.randrange(2, 31)
        o1, o2, o3 = rng.choice(ops), rng.choice(ops), rng.choice(ops)
        call = f"acc += k{f - 1}(n / 2, x {o3} {c});" if f else "acc += x;"
        out.append(f"""
int k{f}(int n, int x) {{
  int acc = {a};
  for (int i = 0; i < n && i < 256; i++) {{
    int v = buf[i] {o1} (x * {b} + i);
    if (v % {c} == 0) acc += v >> 2; else acc = acc {o2} (v + {a});
    buf[i] = v & 1023;
  }}
  switch (x & 3) {{ case 0: acc *= 3; break; case 1: acc -= n; break; default: acc ^= {b}; }}
  while (acc > 100000) acc /= {c};
  if (n > 1) {{ {call} }}
  return acc;
}}""")
    out.append(f"""
int main(int argc, char **argv) {{
  int s = 0;
  for (int r = 0; r < 4; r++) s += k{functions - 1}(64 + argc + r, r);
  printf("%d\\n", s);
  return 0;
}}""")
    return "\n".join(out) + "\n"


def o0_module(tmp: Path, source: str, name: str = "p", *, text: bool = False) -> bytes:
    """C ``source`` as a user's ``clang-22 -O0 -Xclang -disable-O0-optnone`` module for the machine's
    default target: bitcode, or IR text (``text``); compiled under ``tmp`` as ``name``.c."""
    from irpipe.llvm.tools import Toolchain

    src, out = Path(tmp) / f"{name}.c", Path(tmp) / (f"{name}.ll" if text else f"{name}.bc")
    src.write_text(source)
    Toolchain().run("clang", ["-O0", "-Xclang", "-disable-O0-optnone", "-S" if text else "-c", "-emit-llvm",
                              str(src), "-o", str(out)])
    return out.read_bytes()


def generated_module(tmp: Path, functions: int = 10, *, seed: int = 0) -> str:
    """IR text of :func:`generated_c` as ``clang-22 -O0 -Xclang -disable-O0-optnone`` emits it
    (compiled under ``tmp``; needs clang-22)."""
    return o0_module(tmp, generated_c(functions, seed=seed), f"gen{functions}_{seed}", text=True).decode()


#: a matrix-vector product by columns (Polly interchanges the nest), ``argv[1]`` repetitions; each
#: y[i] sums its terms in j order however the nest is scheduled, so the doubles print bit for bit
MATVEC_COLUMNS_C = r'''#include <stdio.h>
#include <stdlib.h>
#define N 256
static double A[N][N], x[N], y[N];
int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 1;
  for (int i = 0; i < N; i++) { x[i] = (i % 7) * 0.125; for (int j = 0; j < N; j++) A[i][j] = ((i * 3 + j) % 11) * 0.5; }
  for (int r = 0; r < reps; r++) {
    for (int j = 0; j < N; j++)
      for (int i = 0; i < N; i++)
        y[i] += A[i][j] * x[j];
    x[r % N] += y[(r * 7) % N] * 1e-9;
  }
  double s = 0;
  for (int i = 0; i < N; i++) s += y[i] * (i + 1);
  printf("%.17g\n", s);
  return 0;
}
'''


def one_program_suite(root: Path, name: str, source: str, args: list[str], count_args: list[str]) -> Path:
    """A suite folder under ``root`` holding one C program ``name`` (``irpipe bench``'s format),
    its ``expected_sha256`` that of its -O0 build on ``args``; returns the suite folder."""
    return program_suite(root, name, {f"{name}.c": source}, args, count_args)


def program_suite(root: Path, name: str, files: dict[str, str], args: list[str], count_args: list[str]) -> Path:
    """A suite folder under ``root`` holding the C program ``name`` of ``files`` (file name -> source,
    one translation unit each), its ``expected_sha256`` that of its -O0 build on ``args``; returns
    the suite folder."""
    import hashlib
    import json

    from irpipe.llvm.tools import Toolchain
    from irpipe.runtime import process

    d = Path(root) / "suite" / name
    d.mkdir(parents=True)
    for file, source in files.items():
        (d / file).write_text(source)
    Toolchain().run("clang", ["-O0", *(str(d / f) for f in files), "-o", str(Path(root) / f"{name}.ref")])
    out = process.run([Path(root) / f"{name}.ref", *args], what=f"{name} (-O0 reference)", timeout=120).stdout
    (d / "benchmark.toml").write_text(f'sources = {json.dumps(list(files))}\nargs = {json.dumps(args)}\n'
                                      f'count_args = {json.dumps(count_args)}\n'
                                      f'expected_sha256 = "{hashlib.sha256(out).hexdigest()}"\n')
    return d.parent


def chain_graph() -> "ProgramGraph":
    """A one-function program graph to cut loops from: instructions 0-3 in blocks 0-3 (a chain),
    variable 4 defined by 1 and used by 2, constant 5 used by 0, variable 6 used by 3 only."""
    import numpy as np

    from irpipe.ir.graph import ProgramGraph

    return ProgramGraph(
        node_type=np.array([0, 0, 0, 0, 1, 2, 1], dtype=np.uint8), node_text=np.array([0, 1, 2, 3, 4, 5, 4], dtype=np.int32),
        node_function=np.array([0, 0, 0, 0, -1, -1, -1], dtype=np.int32),
        node_block=np.array([0, 1, 2, 3, -1, -1, -1], dtype=np.int32),
        edge_source=np.array([0, 1, 2, 1, 4, 5, 6], dtype=np.int32), edge_target=np.array([1, 2, 3, 4, 2, 0, 3], dtype=np.int32),
        edge_flow=np.array([0, 0, 0, 1, 1, 1, 1], dtype=np.uint8), edge_position=np.zeros(7, dtype=np.int32),
        texts=["br", "add", "mul", "ret", "i32", "i64"], functions=["main"])
