"""Run untrusted build commands: no network, an address-space limit, a time limit.

Each command runs in its own network namespace (``unshare -n``: only a downed
loopback, so a build that tries to download fails at once), in its own process
group (killed whole on time-out), with ``RLIMIT_AS`` set, its output appended
to a log file whose tail goes into errors.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from irpipe.errors import BuildError, BuildTimeout
from irpipe.llvm.tools import tail


@dataclass(frozen=True)
class Limits:
    """Resource limits for one build step.  ``deadline`` is a time.monotonic() instant."""

    deadline: float
    memory_mb: int = 6144
    network: bool = False


def _unshare_prefix(network: bool) -> list[str]:
    if network:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        raise BuildError("unshare (util-linux) not found: builds cannot be cut off from the network")
    return [unshare, "-n"] if os.geteuid() == 0 else [unshare, "-rn"]


def run_step(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    limits: Limits,
    what: str,
) -> None:
    """Run one build step under ``limits``; raise BuildError/BuildTimeout with the log tail."""
    remaining = limits.deadline - time.monotonic()
    if remaining <= 0:
        raise BuildTimeout(f"{what}: time limit reached before the step started", tail(_read(log)))
    mem = limits.memory_mb * 1024 * 1024

    def limit() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(argv)})\n".encode(errors="surrogateescape"))  # raw name bytes
        out.flush()
        proc = subprocess.Popen([*_unshare_prefix(limits.network), *argv], cwd=cwd, env=dict(env),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=limit, start_new_session=True)
        try:
            code = proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise BuildTimeout(f"{what}: killed after the build's time limit", tail(_read(log))) from None
        except BaseException:
            _kill_group(proc)
            raise
    if code != 0:
        text = _read(log)
        cause = first_error_line(text)
        raise BuildError(f"{what}: exited {code}" + (f": {cause}" if cause else ""), tail(text))


_NOISE = re.compile(r"(make(\[\d+\])?: \*\*\*|dpkg-buildpackage: error: debian/rules|returned exit code|Error \d+$)")


def first_error_line(log: str) -> str:
    """The first line of a build log that looks like the real error (not make's echo of it)."""
    for line in log.splitlines():
        low = line.lower()
        if ("error:" in low or "error " in low[:7] or "fatal" in low) and not _NOISE.search(line):
            return " ".join(line.split())[:240]
    return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _read(log: Path) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 16384))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
