"""Find embedded bitcode in a build tree, in-process (no objcopy per object).

Reads ELF64 relocatable objects (``.llvmbc`` = the module, ``.llvmcmd`` = the
-cc1 command, NUL-separated), members of ``ar`` archives, and raw bitcode
files (rustc ``--emit=llvm-bc``, LTO objects).  The byte layouts follow the
ELF-64 and System V ar formats; nothing here starts a process.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from irpipe.llvm.ir import BITCODE_MAGIC, WRAPPER_MAGIC

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"
ET_REL = 1
#: Directories of a work tree that are never scanned: tools, caches, and the probe
#: programs build systems compile to detect the compiler (not the package's code).
SKIP_DIRS = {"wrap-bin", "home", "buildreq", "incremental", ".git", "download", "debs", "unpacked",
             "CompilerIdC", "CompilerIdCXX", "CMakeTmp", "CMakeScratch", "meson-private", "conftest.dir"}


@dataclass(frozen=True)
class EmbeddedModule:
    """One module found in a build tree."""

    object_path: str  # relative to the scanned root; "lib.a(member.o)" for archive members
    bitcode: bytes
    command: str  # the -cc1 command from .llvmcmd, space-joined ("" when absent)


def elf_sections(data: bytes, wanted: tuple[str, ...]) -> dict[str, bytes] | None:
    """Sections named in ``wanted`` of an ELF64 little-endian relocatable; None if not one."""
    if len(data) < 64 or data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        return None
    e_type = struct.unpack_from("<H", data, 16)[0]
    if e_type != ET_REL:
        return None
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shoff + 64 > len(data):
        return {}
    if shnum == 0:  # extended numbering: the count lives in section 0's sh_size
        shnum = struct.unpack_from("<Q", data, shoff + 32)[0]
    if shstrndx == 0xFFFF:
        shstrndx = struct.unpack_from("<I", data, shoff + 40)[0]
    headers = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if off + 64 > len(data):
            break
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, off)
        headers.append((name, offset, size))
    if shstrndx >= len(headers):
        return {}
    str_off, str_size = headers[shstrndx][1], headers[shstrndx][2]
    strtab = data[str_off:str_off + str_size]
    found: dict[str, bytes] = {}
    for name_off, offset, size in headers:
        end = strtab.find(b"\0", name_off)
        name = strtab[name_off:end].decode("latin-1")
        if name in wanted:
            found[name] = data[offset:offset + size]
    return found


def ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each regular member of a System V / GNU ``ar`` archive."""
    pos, longnames = 8, b""
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("latin-1").rstrip()
        try:
            size = int(header[48:58].decode("latin-1").strip() or 0)
        except ValueError:
            return
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name == "//":
            longnames = body
        elif name in ("/", "/SYM64/") or name.startswith("__.SYMDEF"):
            continue
        else:
            if name.startswith("/") and name[1:].isdigit():
                start = int(name[1:])
                name = longnames[start:longnames.find(b"\n", start)].decode("latin-1")
            yield name.rstrip("/"), body


def modules_in_bytes(data: bytes, rel: str) -> Iterator[EmbeddedModule]:
    """Embedded modules of one file's bytes (object, archive or raw bitcode)."""
    if data[:4] in (BITCODE_MAGIC, WRAPPER_MAGIC):
        yield EmbeddedModule(rel, data, "")
    elif data[:8] == AR_MAGIC:
        for name, member in ar_members(data):
            yield from modules_in_bytes(member, f"{rel}({name})")
    else:
        sections = elf_sections(data, (".llvmbc", ".llvmcmd"))
        if sections and ".llvmbc" in sections:
            cmd = sections.get(".llvmcmd", b"").replace(b"\0", b" ").decode("utf-8", errors="replace")
            yield EmbeddedModule(rel, sections[".llvmbc"], cmd.strip())


def _interesting(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(18)
    except OSError:
        return False
    if head[:8] == AR_MAGIC or head[:4] in (BITCODE_MAGIC, WRAPPER_MAGIC):
        return True
    return head[:4] == ELF_MAGIC and len(head) >= 18 and struct.unpack_from("<H", head, 16)[0] == ET_REL


def scan_tree(root: Path, *, only_suffix: tuple[str, ...] = ()) -> Iterator[EmbeddedModule]:
    """Every embedded module under ``root``, in sorted path order (deterministic)."""
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            if path.is_symlink() or (only_suffix and not fname.endswith(only_suffix)):
                continue
            if _interesting(path):
                yield from modules_in_bytes(path.read_bytes(), str(path.relative_to(root)))
