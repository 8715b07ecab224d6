"""Bad inputs for the bad-input-*.test lit tests, and irpipe run with a name lit's shell cannot spell.

    USAGE: python bad_inputs.py dataset DIR HOW   a one-shard dataset DIR/c/train-00000.parquet; HOW is
               good, junk, empty, truncated, no-version-key, mistyped-column or missing-column
           python bad_inputs.py copy SRC DST      copy a file ("@FF" in DST is the byte 0xff)
           python bad_inputs.py irpipe ARG...     run irpipe; "@FF" in an ARG is the byte 0xff, so the
                                                  argument is not UTF-8 (Python hands it over surrogate-escaped)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def _bytes(arg: str) -> bytes:
    return os.fsencode(arg).replace(b"@FF", b"\xff")


def dataset(root: bytes, how: str) -> None:
    """A dataset of one small module, its shard spoiled ``how``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from irpipe.testing.factories import SIMPLE_IR, modules_table

    table = modules_table({"a.c": SIMPLE_IR})
    meta = dict(table.schema.metadata)
    if how == "no-version-key":
        del meta[b"irpipe.schema_version"]
    elif how == "mistyped-column":
        i = table.schema.get_field_index("bitcode_size")
        table = table.set_column(i, pa.field("bitcode_size", pa.string()),
                                 pa.array([str(v) for v in table.column(i).to_pylist()]))
    elif how == "missing-column":
        table = table.drop(["structural_hash"])
    shard = Path(os.fsdecode(root)) / "c" / "train-00000.parquet"
    shard.parent.mkdir(parents=True, exist_ok=True)
    with open(shard, "wb") as fh:  # pyarrow's own path arguments must be UTF-8
        pq.write_table(table.replace_schema_metadata(meta), fh)
    good = shard.read_bytes()
    spoiled = {"junk": b"PAR1 this is not parquet " * 8, "empty": b"", "truncated": good[:len(good) // 2]}
    if how in spoiled:
        shard.write_bytes(spoiled[how])


def main(argv: list[str]) -> int:
    if argv[0] == "dataset":
        dataset(_bytes(argv[1]), argv[2])
        return 0
    if argv[0] == "copy":
        shutil.copyfile(_bytes(argv[1]), _bytes(argv[2]))
        return 0
    if argv[0] == "irpipe":
        os.execvp("irpipe", [b"irpipe", *map(_bytes, argv[1:])])
    raise SystemExit(f"unknown request {argv[0]!r}; see the USAGE line")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
