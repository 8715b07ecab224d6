"""Bench results: verdicts against the A/A floor, per-candidate summaries, a table and a PNG chart."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from irpipe import __version__
from irpipe.bench import stats

FORMAT, VERSION = "irpipe.bench", 1


def summarize(cfg: Any, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Attach verdicts (using the suite's A/A floor) and per-candidate geomeans to ``results``."""
    results = sorted(results, key=lambda r: r["name"])
    floor = stats.noise_floor([r["aa"]["median"] for r in results if "aa" in r])
    summaries = []
    for i, c in enumerate(cfg.candidates):
        entries = [(r, r["candidates"][i]) for r in results if r["status"] == "ok" and len(r.get("candidates", [])) > i]
        ok = [e for _, e in entries if e["status"] == "ok"]
        for e in ok:
            if "speedup" in e:
                e["verdict"] = stats.Speedup(e["speedup"]["median"], *e["speedup"]["ci95"]).verdict(floor)
            elif cfg.objective == "size":
                e["verdict"] = "smaller" if e["text_ratio"] > 1 else "larger" if e["text_ratio"] < 1 else "same"
        verdicts = [e.get("verdict") for e in ok]
        summaries.append({
            "label": c.label,
            "programs": len(ok),
            "geomean_speedup": _r(stats.geomean([e["speedup"]["median"] for e in ok if "speedup" in e])),
            "geomean_text_ratio": _r(stats.geomean([e["text_ratio"] for e in ok])),
            "geomean_instr_ratio": _r(stats.geomean([e["instr_ratio"] for e in ok if "instr_ratio" in e])),
            "identical_to_baseline": sum(bool(e.get("identical")) for e in ok),
            "faster": verdicts.count("faster"), "slower": verdicts.count("slower"),
            "smaller": verdicts.count("smaller"), "larger": verdicts.count("larger"),
            "mismatch": sum(e["status"] == "mismatch" for _, e in entries),
            "failed": sum(e["status"] not in ("ok", "mismatch") for _, e in entries),
        })
    counted = sum(r["status"] == "ok" for r in results)
    rounds = sorted(r["rounds"] for r in results if "rounds" in r)
    return {"format": FORMAT, "version": VERSION, "irpipe": __version__,
            "rounds": {"min": rounds[0], "median": rounds[len(rounds) // 2], "max": rounds[-1],
                       "at_cap": sum(n >= cfg.max_rounds > cfg.rounds for n in rounds)} if rounds else None,
            "config": {**asdict(cfg), "candidates": [asdict(c) for c in cfg.candidates]},
            "noise_floor": round(floor, 5), "programs": len(results), "counted": counted,
            "not_counted": {r["name"]: r["status"] for r in results if r["status"] != "ok"},
            "summary": summaries, "results": results}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 5)


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def _cell(text: str) -> str:
    """``text`` whole (its first line) as one Markdown table cell: a cut could end inside a key
    name or a path, which is exactly what the reader needs to see."""
    line = text.splitlines()[0] if text else ""
    return line.replace("|", "\\|")


def table(doc: dict[str, Any]) -> str:
    """A Markdown table: one row per program and candidate, then the geomeans."""
    speed = doc["config"]["objective"] == "speed"
    head = ["program", "candidate", "status", "speedup [95% CI]" if speed else "text ratio", "verdict",
            "instr ratio", ".text base -> cand"]
    rows = [head, ["---"] * len(head)]
    for r in doc["results"]:
        if r["status"] != "ok":
            rows.append([r["name"], "", r["status"], "", "", "", _cell(r.get("detail", ""))])
            continue
        for e in r.get("candidates", []):
            sp = e.get("speedup")
            score = (f"{sp['median']:.3f} [{sp['ci95'][0]:.3f}, {sp['ci95'][1]:.3f}]" if sp else "-") if speed \
                else _fmt(e.get("text_ratio"), ".4f")
            if e.get("identical"):
                score = "1 (the baseline's binary)"
            rows.append([r["name"], e["label"], e["status"], score, e.get("verdict", ""),
                         _fmt(e.get("instr_ratio")), f"{r['baseline']['text_bytes']} -> {e.get('text_bytes', '-')}"])
    lines = ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    lines.append("")
    lines.append(f"A/A noise floor: {doc['noise_floor']:.1%}; programs counted: {doc['counted']}/{doc['programs']}")
    if doc.get("rounds"):
        n, cfg = doc["rounds"], doc["config"]
        pin = cfg.get("pin_cpu")
        lines.append(f"rounds per program: {n['min']}-{n['max']} (median {n['median']}), added until every 95% "
                     f"interval was narrower than {cfg.get('interval', 0):.1%}; {n['at_cap']} reached the cap "
                     f"({cfg.get('max_rounds')}); timed runs " + (f"pinned to CPU {pin}" if pin is not None else "not pinned"))
    for s in doc["summary"]:
        lines.append(f"{s['label']}: geomean speedup {_fmt(s['geomean_speedup'])}x, .text ratio "
                     f"{_fmt(s['geomean_text_ratio'])}x, instr ratio {_fmt(s['geomean_instr_ratio'])}x over "
                     f"{s['programs']} programs ({s['identical_to_baseline']} kept the baseline's binary); "
                     f"faster {s['faster']}, slower {s['slower']}, "
                     f"mismatch {s['mismatch']}, failed {s['failed']}")
    return "\n".join(lines)


def chart(doc: dict[str, Any], path: Path) -> Path | None:
    """Bar chart of per-program speedups (or .text ratios) with 95% intervals; None if nothing to plot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = doc["config"]["objective"] == "speed"
    ok = [r for r in doc["results"] if r["status"] == "ok" and r.get("candidates")]
    if not ok:
        return None
    labels = [s["label"] for s in doc["summary"]]
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(min(24, 3 + 0.5 * len(ok)), 4.5))
    lows, highs = [1.0], [1.0]
    for j, label in enumerate(labels):
        xs, ys, lo, hi = [], [], [], []
        for k, r in enumerate(ok):
            e = r["candidates"][j] if j < len(r["candidates"]) else {}
            v = (e.get("speedup") or {}).get("median") if speed else e.get("text_ratio")
            if v is None:
                continue
            xs.append(k + j * width)
            ys.append(v)
            ci = (e.get("speedup") or {}).get("ci95", [v, v])
            lo.append(v - ci[0])
            hi.append(ci[1] - v)
            lows.append(ci[0])
            highs.append(ci[1])
        ax.bar(xs, [y - 1.0 for y in ys], width, bottom=1.0, yerr=[lo, hi] if speed else None, label=label, capsize=2)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_ylim(min(lows) - 0.03, max(highs) + 0.03)  # ratios sit near 1: do not start the axis at 0
    if speed:
        for y in (1 + doc["noise_floor"], 1 - doc["noise_floor"]):
            ax.axhline(y, color="gray", lw=0.6, ls="--")
    ax.set_xticks([k + width * (len(labels) - 1) / 2 for k in range(len(ok))])
    ax.set_xticklabels([r["name"] for r in ok], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"{'speedup' if speed else '.text ratio'} vs {doc['config']['baseline']} (>1 is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
