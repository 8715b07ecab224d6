"""``python -m irpipe.label.programs --out DIR --count N --seed S``: write a generated corpus."""

from __future__ import annotations

import argparse
import sys

from irpipe.label.programs import FAMILIES, LOOP_NESTS, generate, parse_families


def main(argv: list[str] | None = None) -> int:
    """Generate the corpus and print one directory per line."""
    parser = argparse.ArgumentParser(prog="python -m irpipe.label.programs", description=__doc__)
    parser.add_argument("--out", required=True, help="directory to write the program folders into")
    parser.add_argument("--count", type=int, default=24, help="number of programs (default 24)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--families", default=",".join(LOOP_NESTS),
                        help=f"comma-separated program families, or all (default: the loop nests; known: {', '.join(FAMILIES)})")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    try:
        families = parse_families(args.families)
    except ValueError as exc:
        parser.error(str(exc))
    for d in generate(args.out, args.count, args.seed, families):
        print(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
