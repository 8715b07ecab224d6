"""irpipe.runtime.process: the one runner of child processes (limits, no network, CPU time, errors)."""

from __future__ import annotations

import ast
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from irpipe.errors import ToolFailed, ToolNotFound, ToolTimeout
from irpipe.runtime import process

PACKAGE = Path(__file__).resolve().parents[2] / "irpipe"
#: the only modules that may import subprocess
RUNNER = {PACKAGE / "runtime" / "process.py"}
PY = sys.executable


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaps, as in a container without init, is dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"sh timed out after 0\.5s"):
        process.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], what="sh", timeout=0.5)
    assert time.monotonic() - started < 10  # not the 60 s the grandchild would take
    assert _gone(int(pidfile.read_text()))


def test_timeout_can_return_the_output_so_far() -> None:
    done = process.run([PY, "-c", "import time; print('so far', flush=True); time.sleep(60)"],
                       what="py", timeout=1.0, raise_timeout=False)
    assert done.timed_out and done.returncode < 0 and done.stdout == b"so far\n"


def test_started_child_is_killed_with_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    child = process.start(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], what="sh")
    with pytest.raises(ToolTimeout, match=r"ran past its 0\.5 s limit \(killed\)"):
        child.wait_cpu(0.5)
    assert child.returncode is not None and _gone(int(pidfile.read_text()))
    again = process.start(["sleep", "60"], what="sleep")
    with pytest.raises(TimeoutError):  # ToolTimeout is a TimeoutError; wait leaves it running
        again.wait(0.1)
    assert again.poll() is None
    again.kill()
    assert again.returncode == -9


def test_memory_limit() -> None:
    grab = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0]); b = bytearray(512 << 20)"
    done = process.run([PY, "-c", grab], what="py", timeout=60, memory_mb=256, check=False)
    assert done.returncode != 0 and b"MemoryError" in done.stderr
    assert int(done.stdout) == 256 << 20


def test_cpu_limit_stops_a_spinning_child() -> None:
    """RLIMIT_CPU through prlimit: a child that spins past its CPU seconds is killed by SIGXCPU
    long before the wall-clock time-out."""
    spin = "import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0], flush=True)\nwhile True: pass"
    done = process.run([PY, "-c", spin], what="py", timeout=60, cpu_limit_s=1, check=False)
    assert done.returncode in (-signal.SIGXCPU, -signal.SIGKILL) and int(done.stdout) == 1
    assert 0.9 <= done.cpu_s < 5 and not done.timed_out


def test_no_network_means_no_connection() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        connect = f"import socket; socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), timeout=5)"
        assert process.run([PY, "-c", connect], what="py", timeout=60).returncode == 0  # reachable
        done = process.run([PY, "-c", connect], what="py", timeout=60, network=False, check=False)
    assert done.returncode != 0 and b"unreachable" in done.stderr


def test_cpu_time_of_a_busy_child_and_of_a_sleeping_one() -> None:
    busy = process.run([PY, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"],
                       what="py", timeout=60)
    assert busy.cpu_s >= 0.35 and busy.wall_s >= busy.cpu_s * 0.9
    asleep = process.run(["sleep", "0.5"], what="sleep", timeout=60)
    assert asleep.wall_s >= 0.5 and asleep.cpu_s < 0.2


def test_cpus_pin_the_child_and_it_is_still_the_process_timed() -> None:
    import os

    cpu = max(os.sched_getaffinity(0))
    code = "import os, time\nt = time.process_time()\nwhile time.process_time() - t < 0.2: pass\nprint(sorted(os.sched_getaffinity(0)))"
    done = process.run([PY, "-c", code], what="py", timeout=60, cpus=[cpu], memory_mb=4096)
    assert done.stdout.decode().strip() == f"[{cpu}]"
    assert done.cpu_s >= 0.15  # taskset and prlimit exec: wait4 sees the program's own CPU time
    with pytest.raises(ValueError):
        process.limited(["true"], cpus=[])


def test_failure_message_ends_with_the_stderr_tail() -> None:
    noisy = "import sys\nfor i in range(30): print(f'line {i}', file=sys.stderr)\nsys.exit(2)"
    with pytest.raises(ToolFailed) as info:
        process.run([PY, "-c", noisy], what="noisy", shown="the noisy one", timeout=60)
    message = str(info.value)
    assert message.startswith("noisy exited 2: the noisy one\n")
    assert message.endswith("line 29") and "line 10\n" in message and "line 9\n" not in message


def test_input_output_and_missing_program(tmp_path: Path) -> None:
    done = process.run(["tr", "a-z", "A-Z"], what="tr", timeout=60, input=b"abc", text=True)
    assert done.stdout == "ABC" and done.returncode == 0
    process.run(["sh", "-c", "echo out; echo err >&2"], what="sh", timeout=60,
                stdout=tmp_path / "log", stderr=process.STDOUT)
    assert (tmp_path / "log").read_text() == "out\nerr\n"
    with pytest.raises(ToolNotFound, match="cannot start"):
        process.run([str(tmp_path / "nope")], what="nope", timeout=60)


def _imports_subprocess(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "subprocess" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "subprocess":
            return True
        if (isinstance(node, ast.Call) and any(isinstance(a, ast.Constant) and a.value == "subprocess"
                                               for a in node.args)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            return True
    return False


def test_only_the_runner_imports_subprocess() -> None:
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
                 if p not in RUNNER and _imports_subprocess(p)]
    assert offenders == [], f"start child processes through irpipe.runtime.process, not subprocess: {offenders}"
    assert all(_imports_subprocess(p) for p in RUNNER)
