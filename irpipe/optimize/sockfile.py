"""The socket file of ``irpipe serve``: 0600, published under its path only once it listens.

:func:`listen_hidden` binds and listens under a temporary name, :func:`publish` then gives
the socket its path (never replacing a file that appeared there meanwhile); an existing
path is refused unless it is a stale socket of ours (:func:`prepare_socket_path`).

    USAGE: prepare_socket_path(path); sock, tmp = listen_hidden(path); ...; publish(tmp, path)
"""

from __future__ import annotations

import itertools
import os
import socket
import stat
from pathlib import Path

from irpipe.optimize.protocol import ServeError

_names = itertools.count()


def prepare_socket_path(path: Path) -> None:
    """Refuse a path that is not a stale socket of ours; remove a stale one."""
    if not path.exists() and not path.is_symlink():
        return
    st = path.lstat()
    if not stat.S_ISSOCK(st.st_mode):
        raise ServeError(f"{path} exists and is not a socket; not touching it")
    if st.st_uid != os.getuid():
        raise ServeError(f"{path} is a socket owned by uid {st.st_uid}, not us; refusing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale: nobody listens
        return
    finally:
        probe.close()
    raise ServeError(f"another server is listening on {path}")


def listen_hidden(path: Path) -> tuple[socket.socket, Path]:
    """A socket listening under a temporary 0600 name beside ``path``; (socket, that name).

    The caller starts serving, then :func:`publish` gives it ``path``: a client that
    sees the path can connect (never ECONNREFUSED between bind and listen).
    """
    tmp = path.with_name(f".{os.getpid()}-{next(_names)}.sock~")
    if len(os.fsencode(tmp)) > 107:
        raise ServeError(f"{path}: too long for a Unix socket path (with its temporary name)")
    if os.path.lexists(tmp):  # left by a crashed server that had our pid
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)
        try:
            sock.bind(str(tmp))
        finally:
            os.umask(old)
        os.chmod(tmp, 0o600)
        sock.listen(128)
        sock.settimeout(1.0)  # the accept loop looks for stop once a second; stop() wakes it
    except BaseException:
        sock.close()
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return sock, tmp


def publish(tmp: Path, path: Path) -> int:
    """Give the listening socket at ``tmp`` the name ``path``, atomically, never replacing a
    file that appeared there meanwhile; the socket file's inode."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ServeError(f"{path} appeared while the server started; not replacing it") from None
    except OSError:  # a file system without hard links: rename (may replace a newcomer)
        os.rename(tmp, path)
    else:
        os.unlink(tmp)
    return os.lstat(path).st_ino
