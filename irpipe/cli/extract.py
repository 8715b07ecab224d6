"""``irpipe extract``: build packages from recipes and write module shards (a Ray job)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from irpipe.extract.licenses import PERMISSIVE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="build packages with clang-22 and extract their LLVM IR into shards")
    p.add_argument("--recipes", nargs="+", required=True, help="recipe TOML files or directories")
    p.add_argument("--out", required=True, help="dataset directory (created; re-runs resume)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS or embedded local Ray)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded local Ray")
    p.add_argument("--cpus-per-build", "--jobs", dest="jobs", type=int, default=1,
                   help="CPUs reserved for each package's Ray task, and make -j inside its build")
    p.add_argument("--retries", type=int, default=3, help="task retries after a lost worker/node")
    p.add_argument("--retry-failed", action="store_true", help="redo packages that failed or were excluded before")
    p.add_argument("--license-allow", default=",".join(sorted(PERMISSIVE)),
                   help="comma-separated SPDX ids allowed (default: permissive licenses)")
    p.add_argument("--no-build-deps", action="store_true", help="do not apt-get build-dep Debian packages")
    p.add_argument("--keep-work", action="store_true", help="keep build trees under OUT/.work")
    p.add_argument("--max-shard-mb", type=int, default=256, help="bitcode MB per shard before a new one starts")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from irpipe.extract.job import run_extract
    from irpipe.extract.stages import ExtractOptions

    out = Path(args.out).resolve()
    constraints = Path(__file__).resolve().parents[2] / "constraints.txt"
    options = ExtractOptions(
        work_root=str(out / ".work"), license_allow=frozenset(x.strip() for x in args.license_allow.split(",") if x.strip()),
        install_build_deps=not args.no_build_deps, jobs=args.jobs, keep_work=args.keep_work,
        constraints=str(constraints) if constraints.exists() else None)
    manifest = run_extract(args.recipes, out, options=options, address=args.address, num_cpus=args.num_cpus,
                           retries=args.retries, retry_failed=args.retry_failed,
                           max_shard_bytes=args.max_shard_mb * 1024 * 1024, progress=not args.no_progress)
    t = manifest["totals"]
    print(json.dumps(t, indent=1))
    for p in manifest["packages"]:
        if p["status"] != "ok":
            print(f"{p['status']}: {p['recipe_id']}: [{p['stage']}] {p['error']}", file=sys.stderr)
    return 0
