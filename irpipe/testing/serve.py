"""Helpers for serve and plugin tests: start ``irpipe serve`` as a process, ask it over the socket."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from irpipe.optimize.serve import recv, send


def start(sock: Path, *extra: str) -> subprocess.Popen:
    """``irpipe serve --socket SOCK`` as a process, returned once the socket exists."""
    proc = subprocess.Popen([sys.executable, "-m", "irpipe.cli.main", "serve", "--socket", str(sock), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not sock.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"irpipe serve exited: {proc.stderr.read()}")
        if time.time() > deadline:
            proc.kill()
            raise TimeoutError("irpipe serve did not create its socket in 60 s")
        time.sleep(0.05)
    return proc


def ask(sock: Path, *requests: dict) -> list[dict]:
    """Send ``requests`` on one connection; their answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(str(sock))
        out = []
        for r in requests:
            send(c, r)
            out.append(recv(c))
        return out
