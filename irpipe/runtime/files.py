"""Files and directories named by a user: checked kinds, bounded reads, printable names.

Every path that comes from outside irpipe (a command-line argument, a dataset
directory) goes through here before anything reads or writes it, so that a bad
one costs one error line naming it:

- a directory, a FIFO, a device or a socket where a file is expected is refused by
  ``stat`` before it is opened (a FIFO would block ``open``, ``/dev/zero`` never ends);
- a file is read with a bounded read (at most ``max_bytes + 1`` bytes), so a file
  that grows after ``stat``, or a special file swapped in, cannot exhaust memory;
- an output file is refused when it names a directory or its directory is missing,
  before any work is done;
- names are printed with :func:`shown`: a path that is not UTF-8 (Python gives such
  names as surrogate-escaped ``str``) prints its odd bytes as ``\\udcff`` escapes
  instead of raising ``UnicodeEncodeError``.

    USAGE: data = read_bounded(path, 64 << 20, error=IRError)
           check_output_file(args.output, what="output")
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from irpipe.errors import IrpipeError, PathError, printable

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file"))


def shown(path: str | os.PathLike | bytes) -> str:
    """``path`` as printable text: bytes that are not UTF-8 become ``\\udcXX`` escapes."""
    return printable(os.fsdecode(path))


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words ("a directory", "a FIFO", ...)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a special file"


def stat_path(path: str | os.PathLike, *, error: type[IrpipeError] = PathError,
              what: str = "file") -> os.stat_result:
    """``os.stat(path)``; ``error`` naming the path and the reason when it cannot be read."""
    try:
        return os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(f"{shown(path)}: cannot read {what} ({reason})") from None


def check_regular(path: str | os.PathLike, *, error: type[IrpipeError] = PathError,
                  what: str = "file") -> os.stat_result:
    """Stat ``path`` and refuse anything but a regular file (checked before any ``open``)."""
    st = stat_path(path, error=error, what=what)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{shown(path)}: is {kind_of(st.st_mode)}, not a regular file; expected {what}")
    return st


def too_big(name: str, size: int, max_bytes: int) -> str:
    """The one-line refusal of an input over the size limit."""
    return (f"{name}: module is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB "
            "limit; refusing it rather than risk exhausting memory (raise the limit, e.g. "
            "--max-module-mb, if the machine has room)")


def open_regular(path: str | os.PathLike, *, error: type[IrpipeError] = PathError,
                 what: str = "file") -> BinaryIO:
    """Open the regular file ``path`` for reading; ``error`` naming it for anything else.

    A directory, FIFO, device or socket is refused by ``stat`` before the open; the open
    is non-blocking (a FIFO swapped in after the ``stat`` cannot hang it) and the opened
    file is checked again.  Python opens names that are not UTF-8 (pyarrow's own path
    arguments must be UTF-8: give it this file object instead).
    """
    check_regular(path, error=error, what=what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{shown(path)}: cannot read {what} ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{shown(path)}: is {kind_of(mode)}, not a regular file; expected {what}")
    return os.fdopen(fd, "rb")


def read_bounded(path: str | os.PathLike, max_bytes: int | None, *,
                 error: type[IrpipeError] = PathError, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (:func:`open_regular`), refusing one over
    ``max_bytes``: by its size before reading, and by a bounded read (at most
    ``max_bytes + 1`` bytes) so that a file growing meanwhile is refused, not read to the end.
    Every failure raises ``error`` naming the path.
    """
    with open_regular(path, error=error, what=what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if max_bytes is not None and size > max_bytes:
            raise error(too_big(shown(path), size, max_bytes))
        try:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{shown(path)}: cannot read {what} ({exc.strerror})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(too_big(shown(path), len(data), max_bytes))
    return data


def check_output_file(path: str | os.PathLike, *, what: str = "output file") -> None:
    """Refuse, before any work, an output file that names a directory or whose directory
    is missing (or is not a directory)."""
    p = Path(path)
    if p.is_dir():
        raise PathError(f"{shown(path)}: is a directory; expected the {what} to write")
    parent = p.parent
    if not parent.exists():
        raise PathError(f"{shown(path)}: directory {shown(parent)} does not exist; cannot write the {what}")
    if not parent.is_dir():
        raise PathError(f"{shown(path)}: {shown(parent)} is not a directory; cannot write the {what}")


def check_output_dir(path: str | os.PathLike, *, what: str = "output directory") -> None:
    """Refuse, before any work, an output directory that exists as something else, or
    whose nearest existing ancestor is not a directory (it could not be created)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        st = os.stat(p)
        raise PathError(f"{shown(path)}: is {kind_of(st.st_mode)}, not a directory; expected the {what}")
    ancestor = p
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise PathError(f"{shown(path)}: {shown(ancestor)} is not a directory; cannot create the {what}")


def check_input(path: str | os.PathLike, kind: str, *, what: str) -> None:
    """Refuse an input that is missing or of the wrong kind: ``kind`` is "file" (a regular
    file), "dir" (a directory) or "any" (a directory or a regular file)."""
    if kind == "dir" and not os.path.lexists(path):
        raise PathError(f"{what} {shown(path)} does not exist")
    st = stat_path(path, what=what)
    if kind == "dir" and not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{shown(path)}: is {kind_of(st.st_mode)}, not a directory; expected {what}")
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        raise PathError(f"{shown(path)}: is {kind_of(st.st_mode)}, not a regular file; expected {what}")
    if kind == "any" and not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise PathError(f"{shown(path)}: is {kind_of(st.st_mode)}; expected a {what} directory or file")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + fsync + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.urandom(4).hex()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
