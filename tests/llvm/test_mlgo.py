"""MLGO's interactive advisor protocol: the host against synthetic streams and stock clang-22."""

from __future__ import annotations

import io
import json
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from irpipe.errors import ModelError
from irpipe.extract.bitcode import elf_sections
from irpipe.label.measure import Evaluator
from irpipe.llvm.tools import Toolchain
from irpipe.nn.inliner import InlinerPolicy, NoEviction
from irpipe.llvm.mlgo import NO_EVICTION, Channel, ProtocolError, answer, session
from irpipe.testing.serve import ask, start
from irpipe.train.inliner import Default, compile_text_bytes

SOURCE = """static int sq(int x) { return x * x; }
static int f(int a, int b) { return sq(a) + sq(b) + a * b; }
int g(int n) { int s = 0; for (int i = 0; i < n; i++) s += f(i, n); return s; }
"""
HEADER = {"features": [{"name": "callee_users", "type": "int64_t", "port": 0, "shape": [1]},
                       {"name": "inlining_default", "type": "int64_t", "port": 0, "shape": [1]}],
          "advice": {"name": "inlining_decision", "type": "int64_t", "port": 0, "shape": [1]}}


def stream(*observations: tuple[int, int], contexts: int = 2) -> io.BytesIO:
    out = json.dumps(HEADER).encode() + b"\n"
    out += b"".join(json.dumps({"context": f"c{i}"}).encode() + b"\n" for i in range(contexts))
    for n, (users, default) in enumerate(observations):
        out += json.dumps({"observation": n}).encode() + b"\n" + struct.pack("<qq", users, default) + b"\n"
    return io.BytesIO(out)


class Echo:
    kind = "inline"

    def __call__(self, f: dict[str, np.ndarray]) -> int:
        return int(f["inlining_default"][0]) * 7  # out of range on purpose: the host clamps it


def test_session_answers_each_observation_after_several_contexts() -> None:
    into = io.BytesIO()
    assert session(stream((3, 1), (9, 0), (1, 1)), into, Echo()) == 3
    assert struct.unpack("<3q", into.getvalue()) == (1, 0, 1)


@pytest.mark.parametrize("data, message", [
    (b"", "closed the channel before its header"),
    (b"not json\n", "not an interactive-advisor header"),
    (json.dumps(HEADER).encode() + b"\n" + b'{"observation": 0}\n' + b"\x01\x00", "stream ended inside a tensor"),
    (json.dumps(HEADER).encode() + b"\n" + b'{"surprise": 1}\n', "unknown event"),
])
def test_bad_streams_are_protocol_errors(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        session(io.BytesIO(data), io.BytesIO(), Echo())


def test_answers_are_always_valid_choices() -> None:
    mask = {"mask": np.array([1, 0, 1] + [0] * 29 + [1])}
    assert answer("inline", 5, {}) == 1 and answer("inline", 0, {}) == 0
    assert answer("evict", 2, mask) == 2
    assert answer("evict", 1, mask) == NO_EVICTION and answer("evict", 99, mask) == NO_EVICTION
    assert answer("evict", 1, {"mask": np.array([1, 1, 0])}) == 1


def test_policy_files_round_trip_and_refuse_corruption(tmp_path: Path) -> None:
    names = ["callee_users", "inlining_default"]
    p = InlinerPolicy.default(names)
    assert p({"callee_users": np.array([4]), "inlining_default": np.array([1])}) == 1
    assert p({"callee_users": np.array([4]), "inlining_default": np.array([0])}) == 0
    p.save(tmp_path / "pol", {"note": "test"})
    q = InlinerPolicy.load(tmp_path / "pol")
    assert q.names == names and np.allclose(q.params, p.params) and q.info["note"] == "test"
    (tmp_path / "pol" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot load the policy"):
        InlinerPolicy.load(tmp_path / "pol")
    with pytest.raises(ModelError, match="not an irpipe inliner policy"):
        InlinerPolicy.load(tmp_path / "missing")
    with pytest.raises(ModelError, match="inliner-interactive-include-default"):
        InlinerPolicy.default(["callee_users"])


def module() -> bytes:
    bc = Toolchain().run("clang", ["-O0", "-emit-llvm", "-c", "-x", "c", "-", "-o", "-"],
                         input=SOURCE.encode()).stdout
    return Evaluator(bc).evaluate("verify", bitcode=True)[1]["bitcode"]


def test_default_answers_reproduce_llvm_and_never_inlining_is_larger(tmp_path: Path) -> None:
    bc = module()
    src = tmp_path / "m.bc"
    src.write_bytes(bc)
    Toolchain().run("clang", ["-Oz", "-march=x86-64-v3", "-c", str(src), "-o", str(tmp_path / "m.o")])
    plain = sum(len(v) for v in elf_sections((tmp_path / "m.o").read_bytes(), (".text",)).values())
    seen = Default(record=True)
    assert compile_text_bytes(bc, seen) == plain and len(seen.seen) >= 2

    class Never:
        kind = "inline"

        def __call__(self, f: dict) -> int:
            return 0
    assert compile_text_bytes(bc, Never()) > plain


def test_stop_unblocks_a_channel_waiting_for_a_compiler(tmp_path: Path) -> None:
    ch = Channel(tmp_path / "ch", NoEviction()).open()
    t = threading.Thread(target=ch.serve_forever, daemon=True)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    ch.stop()
    t.join(timeout=5)
    assert not t.is_alive() and time.monotonic() - t0 < 5
    assert not (tmp_path / "ch.in").exists() and not (tmp_path / "ch.out").exists()


def test_serve_answers_stock_clang_inliner_and_regalloc(tmp_path: Path) -> None:
    """irpipe serve answers clang-22's ML inliner (learned policy) and eviction advisor over the pipes."""
    policy = tmp_path / "policy"
    InlinerPolicy.default(["callee_users", "inlining_default"]).save(policy)
    src = tmp_path / "a.c"
    src.write_text(SOURCE)
    sock = tmp_path / "s.sock"
    proc = start(sock, "--inliner-channel", str(tmp_path / "inl"), "--inliner-model", str(policy),
                 "--regalloc-channel", str(tmp_path / "ra"))
    tools = Toolchain()
    try:
        tools.run("clang", ["-O2", "-mllvm", "-enable-ml-inliner=release", "-mllvm",
                            f"-inliner-interactive-channel-base={tmp_path / 'inl'}", "-mllvm",
                            "-inliner-interactive-include-default", "-c", str(src), "-o", str(tmp_path / "a.o")],
                  timeout=60)
        tools.run("clang", ["-O2", "-mllvm", "-regalloc-enable-advisor=release", "-mllvm",
                            f"-regalloc-evict-interactive-channel-base={tmp_path / 'ra'}",
                            "-c", str(src), "-o", str(tmp_path / "b.o")], timeout=60)
        # a channel counts a compile when it reads the compiler's end of stream, which can come
        # a moment after clang exits (on a loaded machine): poll health for up to 20 s
        deadline = time.monotonic() + 20
        while True:
            channels = ask(sock, {"op": "health"})[0]["channels"]
            if all(c["compiles"] >= 1 for c in channels.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    inl, ra = channels[str(tmp_path / "inl")], channels[str(tmp_path / "ra")]
    assert inl["kind"] == "inline" and inl["compiles"] == 1 and inl["decisions"] >= 2 and inl["errors"] == 0
    assert ra["kind"] == "evict" and ra["compiles"] == 1
    assert not (tmp_path / "inl.in").exists()  # pipes removed on SIGTERM
