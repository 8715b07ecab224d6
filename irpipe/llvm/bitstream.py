"""Read the producer string of LLVM bitcode in pure Python, without LLVM.

The IDENTIFICATION block (LLVM >= 3.8) at the top of every bitcode file holds
the producer, e.g. ``"LLVM22.1.8"``, usually as a char6 array: it is not
visible as ASCII bytes, so it takes a (tiny) bitstream reader.  Pure Python
means a malformed file can only raise, never crash the process; that is why
irpipe reads the producer here before handing bytes to LLVM.
"""

from __future__ import annotations

import re
import struct

from irpipe.errors import IRError

WRAPPER_MAGIC = 0x0B17C0DE
IDENTIFICATION_BLOCK_ID = 13
IDENTIFICATION_CODE_STRING = 1
_CHAR6 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class _Bits:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0  # pos in bits

    def read(self, width: int) -> int:
        if width == 0:
            return 0
        end = self.pos + width
        if end > len(self.data) * 8:
            raise IRError("truncated bitstream")
        first, last = self.pos // 8, (end + 7) // 8
        chunk = int.from_bytes(self.data[first:last], "little") >> (self.pos % 8)
        self.pos = end
        return chunk & ((1 << width) - 1)

    def vbr(self, width: int) -> int:
        value, shift, high = 0, 0, 1 << (width - 1)
        while True:
            piece = self.read(width)
            value |= (piece & (high - 1)) << shift
            if not piece & high:
                return value
            shift += width - 1
            if shift > 64:
                raise IRError("VBR value too long")

    def align32(self) -> None:
        self.pos = (self.pos + 31) // 32 * 32


def _operand(bits: _Bits, op: tuple) -> int | str:
    kind, value = op
    if kind == "literal":
        return value
    if kind == "fixed":
        return bits.read(value)
    if kind == "vbr":
        return bits.vbr(value)
    if kind == "char6":
        return _CHAR6[bits.read(6)]
    raise IRError(f"unsupported abbreviation operand {kind}")


def _define_abbrev(bits: _Bits) -> list[tuple]:
    ops: list[tuple] = []
    for _ in range(bits.vbr(5)):
        if bits.read(1):
            ops.append(("literal", bits.vbr(8)))
            continue
        encoding = bits.read(3)
        if encoding in (1, 2):
            ops.append(("fixed" if encoding == 1 else "vbr", bits.vbr(5)))
        elif encoding in (3, 4, 5):
            ops.append(({3: "array", 4: "char6", 5: "blob"}[encoding], None))
        else:
            raise IRError(f"bad abbreviation encoding {encoding}")
    return ops


def _abbreviated(bits: _Bits, ops: list[tuple]) -> list[int | str]:
    values: list[int | str] = []
    i = 0
    while i < len(ops):
        kind = ops[i][0]
        if kind == "array":
            element = ops[i + 1]
            values.extend(_operand(bits, element) for _ in range(bits.vbr(6)))
            i += 2
            continue
        if kind == "blob":
            size = bits.vbr(6)
            bits.align32()
            values.extend(bits.read(8) for _ in range(size))
            bits.align32()
        else:
            values.append(_operand(bits, ops[i]))
        i += 1
    return values


def _unwrap(data: bytes) -> bytes:
    if len(data) >= 20 and struct.unpack_from("<I", data)[0] == WRAPPER_MAGIC:
        offset, size = struct.unpack_from("<II", data, 8)
        return data[offset:offset + size]
    return data


def producer(data: bytes) -> str | None:
    """The producer string of bitcode ``data`` (e.g. ``"LLVM22.1.8"``), or None if absent.

    Raises ValueError when the bytes are not a readable bitstream.
    """
    data = _unwrap(data)
    if data[:4] != b"BC\xc0\xde":
        raise IRError("not LLVM bitcode (bad magic)")
    bits = _Bits(data[4:])
    if bits.read(2) != 1:  # ENTER_SUBBLOCK at top level
        raise IRError("bitcode does not start with a block")
    if bits.vbr(8) != IDENTIFICATION_BLOCK_ID:
        return None
    width = bits.vbr(4)
    bits.align32()
    bits.read(32)  # block length in words
    abbrevs: list[list[tuple]] = []
    while True:
        abbrev_id = bits.read(width)
        if abbrev_id == 0:  # END_BLOCK
            return None
        if abbrev_id == 1:
            raise IRError("unexpected sub-block in IDENTIFICATION block")
        if abbrev_id == 2:
            abbrevs.append(_define_abbrev(bits))
            continue
        if abbrev_id == 3:
            code = bits.vbr(6)
            values: list[int | str] = [code] + [bits.vbr(6) for _ in range(bits.vbr(6))]
        else:
            if abbrev_id - 4 >= len(abbrevs):
                raise IRError(f"undefined abbreviation {abbrev_id}")
            values = _abbreviated(bits, abbrevs[abbrev_id - 4])
        if values and values[0] == IDENTIFICATION_CODE_STRING:
            return "".join(v if isinstance(v, str) else chr(v) for v in values[1:])


def producer_major(data: bytes) -> int | None:
    """The LLVM major version that wrote ``data`` (None if unrecorded or unreadable)."""
    try:
        text = producer(data)
    except ValueError:
        return None
    match = _VERSION.search(text or "")
    return int(match.group(1)) if match else None
