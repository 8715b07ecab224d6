"""Pipeline vocabularies: the pool from labels, greedy selection over a measured matrix, the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irpipe.errors import ConfigError, IRError
from irpipe.label import vocab
from irpipe.schema import to_table


def label_row(h: str, best: str, metric: float, oz: float, top: list[tuple[str, float]]) -> dict:
    return {"structural_hash": h, "package_name": "p", "recipe_id": f"r/{h}", "language": "c",
            "objective": "instcount", "method": "evolutionary", "best_pipeline": best,
            "best_metric": metric, "baselines": {"Oz": oz},
            "top_k": [{"pipeline": p, "metric": m} for p, m in top]}


def test_pool_ranks_by_how_many_modules_found_it() -> None:
    common, rare = "default<Oz>,function(sccp)", "function(sink),default<Oz>"
    labels = to_table([label_row("a", common, 90, 100, [(common, 90), (rare, 95)]),
                       label_row("b", common, 80, 100, [(common, 80)])], "labels")
    pool = vocab.candidate_pool(labels, size=8)
    assert pool.pipelines[:6] == [f"default<{o}>" for o in ("O0", "O1", "O2", "O3", "Os", "Oz")]
    assert pool.pipelines[6:] == [common, rare]
    assert pool.actions()[6] == ["default<Oz>", "sccp"]


def measurement(h: str, p: str, n: int | None) -> dict:
    return {"structural_hash": h, "pipeline": p, "input_instructions": 100, "instructions": n}


def test_select_is_a_greedy_cover_of_gains() -> None:
    oz, a, b, c = "default<Oz>", "default<Oz>,ipsccp", "default<Oz>,globaldce", "default<O3>"
    pool = vocab.PipelineSet([oz, a, b, c])
    rows = [measurement("m1", oz, 100), measurement("m1", a, 80), measurement("m1", b, 100), measurement("m1", c, 120),
            measurement("m2", oz, 100), measurement("m2", a, 100), measurement("m2", b, 90), measurement("m2", c, None),
            measurement("m3", oz, 100), measurement("m3", a, 95), measurement("m3", b, 100), measurement("m3", c, 130)]
    chosen = vocab.select(to_table(rows, "measurements"), pool, size=3)
    assert chosen.pipelines == [oz, a, b]  # c never helps (and failed on m2)
    geo = chosen.info["oracle_geomean_by_size"]
    assert geo[0] == 1.0 and geo[-1] == pytest.approx((100 / 80 * 100 / 90 * 100 / 95) ** (1 / 3), rel=1e-4)


def test_file_round_trip_and_refusals(tmp_path: Path) -> None:
    pset = vocab.PipelineSet(["default<Oz>", "verify"], info={"x": 1})
    path = vocab.save(pset, tmp_path / "v.json")
    assert vocab.load(path).pipelines == pset.pipelines
    doc = json.loads(path.read_text())
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="version 99"):
        vocab.load(path)
    with pytest.raises(IRError, match="not in the action space"):
        vocab.PipelineSet(["function(no-such-pass)"])
    with pytest.raises(ConfigError, match="repeat"):
        vocab.PipelineSet(["verify", "verify"])
