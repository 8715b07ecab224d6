"""``irpipe extract``: build packages from recipes and write module shards (a Ray job).

Every recipe is parsed before Ray starts: an invalid one (a typo'd key, an empty or
binary file) or a directory without recipes is an error line per problem and exit
status 2, with nothing extracted.  After the job, every failed package gets one line
with its stage and reason, and the exit status is 1.  ``--keep-going`` turns both
into warnings (the valid recipes are extracted, exit status 0); failures are recorded
in OUT/failures.parquet either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from irpipe.cli.args import OUT_DIR, RECIPES
from irpipe.extract.licenses import PERMISSIVE
from irpipe.paths import repo_file

#: Exit statuses: every package extracted (or --keep-going); a package failed; an invalid recipe.
EXIT_OK, EXIT_FAILED, EXIT_BAD_RECIPES = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="build packages with clang-22 and extract their LLVM IR into shards",
                       epilog="exit status: 0 every package extracted (or --keep-going), 1 a package failed, "
                              "2 an invalid recipe or no recipes (nothing extracted)")
    p.add_argument("--recipes", nargs="+", required=True, type=RECIPES, help="recipe TOML files or directories")
    p.add_argument("--out", required=True, type=OUT_DIR, help="dataset directory (created; re-runs resume)")
    p.add_argument("--address", default=None, help="Ray cluster address, or auto: the one RAY_ADDRESS names "
                                                   "(default: a private local Ray)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded local Ray")
    p.add_argument("--cpus-per-build", "--jobs", dest="jobs", type=int, default=1,
                   help="CPUs reserved for each package's Ray task, and make -j inside its build")
    p.add_argument("--retries", type=int, default=3, help="task retries after a lost worker/node")
    p.add_argument("--retry-failed", action="store_true", help="redo packages that failed or were excluded before")
    p.add_argument("--keep-going", action="store_true",
                   help="exit 0 although recipes are invalid or packages failed: extract the valid recipes and "
                        "print the problems as warnings (they are in OUT/failures.parquet either way)")
    p.add_argument("--license-allow", default=",".join(sorted(PERMISSIVE)),
                   help="comma-separated SPDX ids allowed (default: permissive licenses)")
    p.add_argument("--no-build-deps", action="store_true", help="do not apt-get build-dep Debian packages")
    p.add_argument("--keep-work", action="store_true", help="keep build trees under OUT/.work")
    p.add_argument("--max-shard-mb", type=int, default=256, help="bitcode MB per shard before a new one starts")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def _say(level: str, message: str) -> None:
    print(f"irpipe extract: {level}: {message}", file=sys.stderr, flush=True)


def check_recipes(paths: list[str], keep_going: bool) -> int | None:
    """Parse every recipe before anything starts; print one line per problem.

    Returns the exit status to stop with (no recipes, or an invalid one without
    ``keep_going``), or None to go on (the job records invalid recipes in failures.parquet).
    """
    from irpipe.errors import RecipeError
    from irpipe.extract.recipes import collect_recipes

    try:
        recipes, bad = collect_recipes(paths)
    except RecipeError as exc:  # a missing path, or a directory without recipes
        _say("error", str(exc))
        return EXIT_BAD_RECIPES
    for _, error in bad:
        _say("warning" if keep_going else "error", error)
    total = len(recipes) + len(bad)
    if bad and not keep_going:
        _say("error", f"{len(bad)} of {total} recipes invalid; nothing extracted (fix them, or pass "
                      "--keep-going to extract the valid ones)")
        return EXIT_BAD_RECIPES
    if not recipes:
        _say("error", f"none of the {total} recipes is valid; nothing to extract")
        return EXIT_BAD_RECIPES
    return None


def report(manifest: dict[str, Any], out: Path, keep_going: bool) -> int:
    """One line per excluded, failed or unfinished package; the exit status."""
    level = "warning" if keep_going else "error"
    failed = 0
    for p in manifest["packages"]:
        reason = f"[{p.get('stage')}] {p.get('error')}"
        if p["status"] == "excluded":  # the license policy at work, not a failure
            _say("warning", f"{p['recipe_id']}: excluded: {reason}")
        elif p["status"] != "ok":
            _say(level, f"{p['recipe_id']}: {reason}")
            failed += 1
    for recipe_id in manifest.get("not_finished", []):
        _say(level, f"{recipe_id}: [worker] not finished (its worker was lost; the reason is in "
                    "failures.parquet); run the same command again to resume")
        failed += 1
    if not failed:
        return EXIT_OK
    total = manifest["totals"]["packages"]
    hint = "" if keep_going else "; pass --keep-going to exit 0 with failures"
    _say(level, f"{failed} of {total} packages failed (recorded in {out / 'failures.parquet'}; "
                f"--retry-failed rebuilds them){hint}")
    return EXIT_OK if keep_going else EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    stop = check_recipes(args.recipes, args.keep_going)
    if stop is not None:
        return stop
    from irpipe.extract.job import run_extract
    from irpipe.extract.stages import ExtractOptions

    out = Path(args.out).resolve()
    constraints = repo_file("constraints.txt")  # the checkout's pins; an installed wheel has none
    options = ExtractOptions(
        work_root=str(out / ".work"), license_allow=frozenset(x.strip() for x in args.license_allow.split(",") if x.strip()),
        install_build_deps=not args.no_build_deps, jobs=args.jobs, keep_work=args.keep_work,
        constraints=str(constraints) if constraints and constraints.exists() else None)
    manifest = run_extract(args.recipes, out, options=options, address=args.address, num_cpus=args.num_cpus,
                           retries=args.retries, retry_failed=args.retry_failed,
                           max_shard_bytes=args.max_shard_mb * 1024 * 1024, progress=not args.no_progress)
    print(json.dumps(manifest["totals"], indent=1))
    return report(manifest, out, args.keep_going)
