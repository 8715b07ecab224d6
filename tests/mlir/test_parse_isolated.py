"""Untrusted MLIR: a nesting pre-check and a crash-isolated parse, so deep or parser-crashing
modules cost one error line naming the file (features, graph, predict-cost)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from irpipe.errors import MLIRError
from irpipe.llvm import isolate
from irpipe.mlir import features, graph, ir

STACK = 8 << 20  # Linux's default stack limit: the parser crashes under it (not with an unlimited stack)


def nested_regions(n: int) -> str:
    """A function with ``n`` nested ``scf.execute_region`` ops (5000: 165 KB, the issue's input)."""
    return ("func.func @main() {\n" + "scf.execute_region {\n" * n + "scf.yield\n}\n" * n
            + "return\n}\n")


def nested_type(n: int) -> str:
    """A function type nested ``n`` ``tuple<`` deep: passes the bracket pre-check, crashes the parser."""
    return "func.func private @f(" + "tuple<" * n + "i32" + ">" * n + ")\n"


@pytest.fixture
def fresh_worker(monkeypatch: pytest.MonkeyPatch):
    """A new isolated MLIR worker started under an 8 MiB stack limit (the child inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    worker = isolate.Isolated(what="the MLIR parser", error=MLIRError, expects="test")
    monkeypatch.setattr(ir, "_worker", worker)
    resource.setrlimit(resource.RLIMIT_STACK, (STACK if hard == resource.RLIM_INFINITY else min(STACK, hard), hard))
    try:
        worker.call(ir.check_parses, "module {}\n", "warm-up", label="warm-up")  # start it now
    finally:
        resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))
    yield worker
    worker.close()


def test_nesting_depth_skips_strings_and_comments() -> None:
    text = 'a { "x{{{\\"{{" [ // ((((\n ( ) ] }'
    assert ir.nesting_depth(text) == 3
    assert ir.nesting_depth(b"") == 0
    assert ir.nesting_depth(nested_regions(5000)) == 5001
    assert ir.nesting_depth("[" * 300 + "]" * 300 + "{}" * 1000) == 300  # the numpy scan


def test_deep_module_is_refused_before_parsing() -> None:
    for isolated in (False, True):  # in-process too: the parser would crash this process
        with pytest.raises(MLIRError, match=r"^deep.mlir: nested 5001 levels deep .* over irpipe's limit of 256"):
            ir.parse(nested_regions(5000), name="deep.mlir", isolate=isolated)


def test_module_under_the_limit_parses_and_walks() -> None:
    module = ir.parse(nested_regions(200), name="ok.mlir", isolate=True)
    assert features.features(module)["total_ops"] == 402
    assert graph.build_graph(module, name="ok.mlir").count(node_type="op") == 402


def test_isolated_parse_agrees_with_in_process(mlp_text: str) -> None:
    a, b = ir.parse(mlp_text, name="m.mlir"), ir.parse(mlp_text.encode(), name="m.mlir", isolate=True)
    assert features.features(a) == features.features(b) and ir.structural_hash(a) == ir.structural_hash(b)
    bad = "func.func @f() {\n  foo.bar\n  return\n}\n"
    with pytest.raises(MLIRError) as in_process:
        ir.parse(bad, name="bad.mlir")
    with pytest.raises(MLIRError) as isolated:
        ir.parse(bad, name="bad.mlir", isolate=True)
    assert str(isolated.value) == str(in_process.value)
    assert "Dialect `foo' not found" in str(isolated.value)


@pytest.mark.parametrize("case", ["regions", "type"])
def test_parser_crash_is_an_error_and_the_worker_recovers(fresh_worker, monkeypatch, mlp_text, case) -> None:
    if case == "regions":  # the input, with the pre-check lifted so the parser itself runs
        monkeypatch.setattr(ir, "MAX_NESTING", 10**6)
        text = nested_regions(5000)
    else:
        text = nested_type(50000)
    with pytest.raises(MLIRError, match=r"^deep.mlir: the MLIR parser crashed \(SIGSEGV\); the worker was restarted"):
        ir.parse(text, name="deep.mlir", isolate=True)
    assert fresh_worker.restarts == 1
    assert ir.dialects_of(ir.parse(mlp_text, name="m.mlir", isolate=True)) == ("func", "stablehlo")


def _cli(*argv: str) -> subprocess.CompletedProcess:
    def limit_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (STACK, resource.getrlimit(resource.RLIMIT_STACK)[1]))

    return subprocess.run([sys.executable, "-m", "irpipe.cli.main", *argv], capture_output=True, text=True,
                          timeout=300, preexec_fn=limit_stack)


@pytest.mark.parametrize("command", ["features", "graph", "predict-cost"])
def test_cli_prints_one_line_for_deep_and_crashing_mlir(tmp_path: Path, command: str) -> None:
    deep, crash = tmp_path / "deep.mlir", tmp_path / "crash.mlir"
    deep.write_text(nested_regions(5000))
    crash.write_text(nested_type(50000))
    for path, message in ((deep, "nested 5001 levels deep"), (crash, "the MLIR parser crashed (SIGSEGV)")):
        proc = _cli(command, str(path))
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert proc.stderr.startswith(f"irpipe {command}: error: {path}: {message}")
        assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""
