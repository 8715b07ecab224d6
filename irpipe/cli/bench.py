"""``irpipe bench``: build a suite of C/C++ programs through IR, baseline vs candidates, and measure.

Exit status: 0 when every program was counted and no candidate changed an output or ran
significantly slower; 2 when some program could not be counted (build failure, crash, timeout,
nondeterministic output, missing or wrong expected hash); 3 when a candidate changed a program's
output or is a regression that stands above the noise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from irpipe.cli.args import MODEL_DIR, OUT_DIR, SUITE_DIR, add_loop_search, add_polly
from irpipe.cli.optimize import DEFAULT_MODEL
from irpipe.paths import model_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark native programs (benchmark.toml): speedup vs -O3 with "
                                     "identical output, bootstrap CIs, callgrind counts, JSON + PNG")
    p.add_argument("--suite", required=True, type=SUITE_DIR, help="a directory of programs, each with benchmark.toml")
    p.add_argument("--candidate", nargs="+", action="append", metavar=("KIND", "ARG"),
                   help="optimize [MODEL] | advice PATH | pipeline STR | search | loops [MODEL|RULE] | polly | lto; repeat to compare "
                        "several in one interleaved run (default: optimize)")
    p.add_argument("--baseline", default=None, help="O0..O3, Os, Oz or a pipeline (default: O3 for "
                                                    "speed, Oz for size)")
    p.add_argument("--objective", default="speed", choices=("speed", "size"))
    p.add_argument("--march", default=None, metavar="CPU",
                   help="-march/-mcpu for baseline and candidates alike (default: none, as a plain "
                        "clang-22 -O3; valgrind 3.19 cannot run AVX-512 code)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds per program, at least")
    p.add_argument("--max-rounds", type=int, default=21,
                   help="then two more rounds at a time, up to this many, while a candidate's or the A/A "
                        "copy's 95%% interval is not narrower than --interval (--max-rounds 0: exactly --rounds)")
    p.add_argument("--interval", type=float, default=0.03, metavar="WIDTH",
                   help="the widest 95%% interval of a paired speedup (high - low) that stops adding rounds")
    p.add_argument("--pin-cpu", default="auto", metavar="N|auto|none",
                   help="run every timed run on this CPU only (auto: the last CPU this process may use; "
                        "none: not pinned)")
    p.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    p.add_argument("--only", nargs="+", help="benchmark only these programs (by name)")
    p.add_argument("--model", default=str(DEFAULT_MODEL), type=MODEL_DIR, help="model of `--candidate optimize`")
    p.add_argument("--verify", type=int, default=6, help="speed: pipelines `optimize` screens per program")
    p.add_argument("--loop-model", default=str(model_dir("loop-decisions")), metavar="DIR",
                   help="speed: `optimize` also screens -O3 with this per-loop policy's decisions for each "
                        "TU (irpipe train --problem loop-decisions); 'none': no per-loop decisions")
    add_loop_search(p, "`optimize`")
    add_polly(p, "`optimize` (and `search`)")
    p.add_argument("--no-lto", dest="lto", action="store_false",
                   help="speed: `optimize` (and `search`) screen no whole-program build (all TUs in one module, "
                        "only main visible: what clang-22 -flto -O3 builds; kept only when its output is "
                        "identical and it is confirmed faster)")
    p.add_argument("--pgo", action="store_true",
                   help="speed: `optimize` also screens -O3 built with a profile of the program's count "
                        "workload (LLVM IR instrumentation, run once; no FP reordering)")
    p.add_argument("--out", default="out/bench", type=OUT_DIR, help="directory for bench.json, bench.png, bench.md")
    p.add_argument("--cache", default=None, type=OUT_DIR, help="build and source cache (default ~/.cache/irpipe/bench)")
    p.add_argument("--fresh", action="store_true", help="re-measure programs finished by an earlier run")
    p.add_argument("--print-hashes", action="store_true",
                   help="build and run the baseline only; print each program's expected_sha256 line")
    p.set_defaults(run=run)


def _candidates(raw: list[list[str]] | None) -> list:
    from irpipe.bench.candidates import Candidate
    from irpipe.errors import ConfigError

    out = []
    for words in raw or [["optimize"]]:
        if len(words) > 2:
            raise ConfigError(f"--candidate {' '.join(words)}: give a kind and at most one argument "
                              "(quote a pipeline)")
        out.append(Candidate(words[0], words[1] if len(words) > 1 else None))
    return out


def _check_speed_flags(args: argparse.Namespace, baseline: str) -> None:
    """:class:`ConfigError` for a flag of a speed candidate given without ``--objective speed`` and
    the O3 baseline (or a negative ``--loop-search``)."""
    from irpipe.errors import ConfigError

    speed_o3 = (args.objective, baseline) == ("speed", "O3")
    if args.loop_search < 0 or (args.loop_search and not speed_o3):
        raise ConfigError(f"--loop-search {args.loop_search}: give a number of loops, 0 or more, "
                          "with --objective speed and the O3 baseline")
    flags = {"--pgo": (args.pgo, "profile-guided builds are"), "--no-polly": (not args.polly, "Polly is"),
             "--no-lto": (not args.lto, "the whole-program build is")}
    for flag, (given, what) in flags.items():
        if given and not speed_o3:
            raise ConfigError(f"{flag}: {what} a speed candidate: use --objective speed and the O3 baseline")


def pin_cpu(text: str) -> int | None:
    """The CPU ``--pin-cpu`` names (auto: the highest this process may run on; none: None);
    :class:`ConfigError` for one this process may not use."""
    from irpipe.errors import ConfigError

    allowed = sorted(os.sched_getaffinity(0))
    if text == "none":
        return None
    if text == "auto":
        return allowed[-1]
    try:
        cpu = int(text)
    except ValueError:
        raise ConfigError(f"--pin-cpu {text!r}: give a CPU number, auto or none") from None
    if cpu not in allowed:
        raise ConfigError(f"--pin-cpu {cpu}: this process may run only on CPUs "
                          f"{','.join(map(str, allowed))}")
    return cpu


def run(args: argparse.Namespace) -> int:
    from irpipe.bench import report
    from irpipe.bench.harness import BenchConfig, bench_suite
    from irpipe.llvm.native import plugin_path

    out = Path(args.out)
    baseline = args.baseline or ("O3" if args.objective == "speed" else "Oz")
    _check_speed_flags(args, baseline)
    cfg = BenchConfig(suite=str(Path(args.suite)), candidates=[] if args.print_hashes else _candidates(args.candidate),
                      baseline=baseline, objective=args.objective, rounds=args.rounds,
                      callgrind=not (args.no_callgrind or args.print_hashes), model=args.model,
                      verify=args.verify, only=args.only, plugin=str(plugin_path()), march=args.march,
                      loop_model=args.loop_model, max_rounds=args.max_rounds, interval=args.interval,
                      pin_cpu=pin_cpu(args.pin_cpu), loop_search=args.loop_search,
                      loop_search_by=args.loop_search_by, pgo=args.pgo,
                      polly=args.polly and (args.objective, baseline) == ("speed", "O3"),
                      lto=args.lto and (args.objective, baseline) == ("speed", "O3"))
    if args.cache:
        cfg.cache = args.cache
    if args.print_hashes:
        cfg.rounds = 0
    doc = bench_suite(cfg, out, resume=not (args.fresh or args.print_hashes),
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.print_hashes:
        for r in doc["results"]:
            if "observed_sha256" in r and r["status"] in ("ok", "no-hash", "wrong-hash"):
                key = f'expected_sha256_march."{args.march}"' if args.march else "expected_sha256"
                print(f'{r["name"]}: {key} = "{r["observed_sha256"]}"')
            else:
                print(f"{r['name']}: {r['status']}: {r.get('detail', '')}")
        return 0
    text = report.table(doc)
    (out / "bench.md").write_text(text + "\n")
    png = report.chart(doc, out / "bench.png")
    print(text)
    print(f"\nwrote {out / 'bench.json'}, {out / 'bench.md'}" + (f", {png}" if png else ""))
    if any(s["mismatch"] or s["slower"] for s in doc["summary"]):
        return 3
    return 2 if doc["not_counted"] else 0
