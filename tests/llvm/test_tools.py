"""irpipe.llvm.tools: find, version-check and run LLVM 22 tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import ToolFailed, ToolNotFound, ToolTimeout, ToolVersionMismatch
from irpipe.llvm.tools import Toolchain
from irpipe.testing.gates import requires_llvm


@requires_llvm
def test_finds_and_checks_llvm22() -> None:
    info = Toolchain().find("opt")
    assert info.version.startswith("22.")
    assert Path(info.path).is_file()


@requires_llvm
def test_run_failure_carries_stderr_tail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ll"
    bad.write_text("define i32 @f( {\n")
    with pytest.raises(ToolFailed, match=r"opt-22 exited 1.*\n.*error"):
        Toolchain().run("opt", [str(bad), "-S", "-o", "-"])


def _fake(tmp_path: Path, name: str, body: str) -> Path:
    tool = tmp_path / name
    tool.write_text("#!/bin/sh\n" + body)
    tool.chmod(0o755)
    return tool


def test_version_mismatch_names_the_tool(tmp_path: Path) -> None:
    _fake(tmp_path, "opt-22", 'echo "Debian LLVM version 14.0.6"\n')
    chain = Toolchain(search_path=str(tmp_path), bindir=None)
    with pytest.raises(ToolVersionMismatch, match=r"opt-22 at .* is LLVM 14\.0\.6; supported: LLVM 22"):
        chain.find("opt")


def test_missing_tool_says_what_is_supported(tmp_path: Path) -> None:
    chain = Toolchain(search_path=str(tmp_path), bindir=tmp_path / "nope")
    with pytest.raises(ToolNotFound, match=r"llc-22 not found .* supports LLVM 22 only"):
        chain.find("llc")


def test_timeout_kills_the_tool(tmp_path: Path) -> None:
    _fake(tmp_path, "opt-22", 'case "$1" in --version) echo "LLVM version 22.1.8";; *) sleep 30;; esac\n')
    chain = Toolchain(search_path=str(tmp_path), bindir=None)
    with pytest.raises(ToolTimeout, match="timed out after 0.5s"):
        chain.run("opt", ["x"], timeout=0.5)
