"""Run untrusted build commands: no network, an address-space limit, a time limit.

Each command runs through the one process runner (:mod:`irpipe.runtime.process`): in its
own network namespace (``unshare -n``: only a downed loopback, so a build that tries to
download fails at once), in its own process group (killed whole on time-out), with
``RLIMIT_AS`` set, its output appended to a log file whose tail goes into errors.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from irpipe.errors import BuildError, BuildTimeout, ToolError, ToolTimeout
from irpipe.runtime import process
from irpipe.runtime.process import tail


@dataclass(frozen=True)
class Limits:
    """Resource limits for one build step.  ``deadline`` is a time.monotonic() instant."""

    deadline: float
    memory_mb: int = 6144
    network: bool = False


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
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(argv)})\n".encode(errors="surrogateescape"))  # raw name bytes
        out.flush()
        try:
            done = process.run(argv, what=what, cwd=cwd, env=env, timeout=remaining, stdout=out,
                               stderr=process.STDOUT, memory_mb=limits.memory_mb,
                               network=limits.network, check=False)
        except ToolTimeout:
            raise BuildTimeout(f"{what}: killed after the build's time limit", tail(_read(log))) from None
        except ToolError as exc:  # unshare or prlimit missing, or the command cannot start
            raise BuildError(str(exc), tail(_read(log))) from None
    if done.returncode != 0:
        text = _read(log)
        cause = first_error_line(text)
        raise BuildError(f"{what}: exited {done.returncode}" + (f": {cause}" if cause else ""), tail(text))


_NOISE = re.compile(r"(make(\[\d+\])?: \*\*\*|dpkg-buildpackage: error: debian/rules|returned exit code|Error \d+$)")


def first_error_line(log: str) -> str:
    """The first line of a build log that looks like the real error (not make's echo of it)."""
    for line in log.splitlines():
        low = line.lower()
        if ("error:" in low or "error " in low[:7] or "fatal" in low) and not _NOISE.search(line):
            return " ".join(line.split())[:240]
    return ""


def _read(log: Path) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 16384))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
