"""The loop-decisions problem: per-loop ratios from loop facts, trained and evaluated by family."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from irpipe.cli.main import main
from irpipe.problems import EvalRequest, get, names
from irpipe.problems.loop_decisions import METHODS
from irpipe.runtime.shards import write_parquet
from irpipe.errors import ConfigError, EvalError, ModelError
from irpipe.schema import LOOP_BODY_FACTS, to_table
from irpipe.train.loop_decisions import (DECISIONS, FEATURES, SELECT_GRID, SHAPE_FEATURES, LoopPolicy, choose,
                                         load_config, load_loops, split)

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT / "benchmarks" / "results" / "loops" / "s1" / "loop_labels.parquet"
KEEP = ("stencil", "reduction", "indirect", "nest")


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slice of the committed labels: the first program of four families."""
    rows = pq.read_table(LABELS).to_pylist()
    first = {}
    for r in rows:
        first.setdefault(r["family"], r["program"])
    rows = [r for r in rows if r["family"] in KEEP and r["program"] == first[r["family"]]]
    path = tmp_path_factory.mktemp("loops") / "loop_labels.parquet"
    write_parquet(to_table(rows, "loop_labels"), path)
    return path


def _train(tmp_path: Path, labels: Path, *extra: str) -> Path:
    out = tmp_path / "model"
    argv = ["train", "--problem", "loop-decisions", "--config", str(ROOT / "models" / "loop-decisions" / "config.toml"),
            "--set", f"labels={labels}", "--set", "epochs=20", *(a for kv in extra for a in ("--set", kv)),
            "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    return out


def test_registry_lists_it() -> None:
    assert "loop-decisions" in names()
    assert get("loop-decisions").input_kind == "source"


def test_loops_split_by_family(labels: Path) -> None:
    loops = load_loops(labels)
    assert {e.family for e in loops} == set(KEEP)
    train, test = split(loops, ("reduction", "nest"))
    assert {e.family for e in train} == {"stencil", "indirect"} and {e.family for e in test} == {"reduction", "nest"}
    assert not {e.program for e in train} & {e.program for e in test}
    e = loops[0]
    assert e.features.shape == (len(FEATURES),) and e.ratios.shape == e.allowed.shape == (len(DECISIONS),)
    assert all(np.isnan(x.ratios[~x.allowed]).all() for x in loops)  # unroll_and_jam: outer loops only


def test_policy_keeps_o3_unless_the_gain_beats_the_margin() -> None:
    allowed = np.array([True, True, False])
    assert choose(np.log([0.995, 1.0, 0.5]), allowed, 0.01) == -1        # 0.5 is not in the space
    assert choose(np.log([0.98, 1.0, 0.5]), allowed, 0.01) == 0


def test_train_predict_shape_and_checkpoint(tmp_path: Path, labels: Path, capsys) -> None:
    out = _train(tmp_path, labels, "test_families=reduction,nest", "select=false", "body_facts=true")
    done = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert done["metrics"]["test_loops"] > 0 and "heldout_loss" in done["metrics"]
    meta = json.loads((out / "model.json").read_text())
    assert (meta["format"], meta["problem"], meta["test_families"]) == ("irpipe-model", "loop-decisions",
                                                                       ["nest", "reduction"])
    policy = LoopPolicy.load(out)
    loops = load_loops(labels)
    pred = policy.predict(np.stack([e.features for e in loops]))
    assert pred.shape == (len(loops), len(DECISIONS)) and np.isfinite(pred).all()
    listing = [{"id": "f/L0", "depth": 1, "blocks": 1, "trip_count": None, "strict_fp_reduction": True,
                "strict_fp_induction": False, **{k: 4 for k in LOOP_BODY_FACTS}}]
    advice = policy.advice(listing)
    assert set(advice) <= {"f/L0"} and all(json.dumps(d, sort_keys=True, separators=(",", ":")) in DECISIONS
                                           for d in advice.values())
    with pytest.raises(ModelError, match="no body facts"):  # a listing from an older plugin
        policy.advice([{k: v for k, v in listing[0].items() if k not in LOOP_BODY_FACTS}])


def test_labels_without_body_facts_train_on_the_shape_only(tmp_path: Path, labels: Path, capsys) -> None:
    """Labels of schema v2 (no body facts) say how to add them; body_facts=false trains on them."""
    table = pq.read_table(labels)
    meta = {**table.schema.metadata, b"irpipe.schema_version": b"2"}
    old = table.drop_columns(list(LOOP_BODY_FACTS)).replace_schema_metadata(meta)
    pq.write_table(old, tmp_path / "v2.parquet")
    loops = load_loops(tmp_path / "v2.parquet")
    assert all(np.isnan(e.features[len(SHAPE_FEATURES):]).all() for e in loops)
    with pytest.raises(AssertionError):
        _train(tmp_path, tmp_path / "v2.parquet", "select=false", "body_facts=true")
    assert "add them with benchmarks/loop_label_bench.py --refresh-facts" in capsys.readouterr().err
    out = _train(tmp_path, tmp_path / "v2.parquet", "select=true", "epochs=5")   # the selection skips body configs
    meta = json.loads((out / "model.json").read_text())
    assert meta["features"] == list(SHAPE_FEATURES) and not any(g["body_facts"] for g in meta["selection"]["grid"])
    assert LoopPolicy.load(out).choices(np.stack([e.features for e in loops]), np.stack([e.allowed for e in loops]))


def test_labels_of_several_files(tmp_path: Path, labels: Path) -> None:
    rows = pq.read_table(labels).to_pylist()
    half = {r["program"] for r in rows[: len(rows) // 2]}
    write_parquet(to_table([r for r in rows if r["program"] in half], "loop_labels"), tmp_path / "a.parquet")
    write_parquet(to_table([r for r in rows if r["program"] not in half], "loop_labels"), tmp_path / "b.parquet")
    both = load_loops(f"{tmp_path / 'a.parquet'}, {tmp_path / 'b.parquet'}")
    assert [(e.program, e.loop_id) for e in both] == [(e.program, e.loop_id) for e in load_loops(labels)]
    with pytest.raises(ConfigError, match="missing.parquet"):
        load_loops(f"{tmp_path / 'a.parquet'},{tmp_path / 'missing.parquet'}")


def test_evaluate_cross_fits_a_model_trained_on_every_family(tmp_path: Path, labels: Path) -> None:
    out = _train(tmp_path, labels)
    report = get("loop-decisions").evaluate(EvalRequest(models=(str(out),), dataset=str(labels), progress=False))
    r = report["models"][str(out)]
    assert report["failed"] == 0 and len(r["folds"]) == 2 and "measured" not in r
    assert {f for fold in r["folds"] for f in fold["test"]} == set(KEEP)
    for fold in r["folds"]:
        assert not set(fold["train"]) & set(fold["test"])
    table = r["estimated"]
    assert table["all"]["programs"] == 4 and table["all"]["O3"] == 1.0
    assert table["all"]["oracle"] <= min(table["all"][m] for m in METHODS)   # the oracle bounds them all
    assert not any(math.isnan(v) for t in table.values() for k, v in t.items() if k != "programs")
    assert "| all | 4 |" in get("loop-decisions").format_report(report)


def test_a_dataset_of_families_the_model_never_saw_is_held_out_whole(tmp_path: Path, labels: Path) -> None:
    rows = pq.read_table(labels).to_pylist()
    seen, unseen = tmp_path / "seen.parquet", tmp_path / "unseen" / "loop_labels.parquet"
    unseen.parent.mkdir()
    write_parquet(to_table([r for r in rows if r["family"] in KEEP[:2]], "loop_labels"), seen)
    write_parquet(to_table([r for r in rows if r["family"] in KEEP[2:]], "loop_labels"), unseen)
    out = _train(tmp_path, seen)
    report = get("loop-decisions").evaluate(EvalRequest(models=(str(out),), dataset=str(unseen.parent), progress=False))
    (fold,) = report["models"][str(out)]["folds"]  # the model as it is: nothing trained now
    assert fold["train"] == sorted(KEEP[:2]) and fold["test"] == sorted(KEEP[2:])
    assert report["models"][str(out)]["estimated"]["all"]["programs"] == 2
    (out / "model.json").write_text((out / "model.json").read_text().replace(str(seen), str(tmp_path / "gone")))
    with pytest.raises(EvalError, match="no labels of its training families|training labels"):
        get("loop-decisions").evaluate(EvalRequest(models=(str(out),), dataset=str(unseen.parent), progress=False))


def test_inner_selection_never_sees_the_held_out_families(tmp_path: Path, labels: Path, monkeypatch) -> None:
    import irpipe.train.loop_decisions as ld

    calls: list[tuple[set, set]] = []
    real_fit = ld.fit

    def spy(config, train_ex, test_ex, *args, **kwargs):
        calls.append(({e.family for e in train_ex}, {e.family for e in test_ex}))
        return real_fit(config, train_ex, test_ex, *args, **kwargs)

    out = _train(tmp_path, labels, "select=true", "epochs=5")
    monkeypatch.setattr(ld, "fit", spy)
    report = get("loop-decisions").evaluate(EvalRequest(models=(str(out),), dataset=str(labels), progress=False))
    folds = report["models"][str(out)]["folds"]
    inner: list[tuple[set, set]] = []
    outer = []
    for train_f, test_f in calls:   # each outer fit follows its fold's inner fits
        if test_f in [set(f["test"]) for f in folds]:
            outer.append((train_f, test_f, inner))
            inner = []
        else:
            inner.append((train_f, test_f))
    assert not inner and [o[1] for o in outer] == [set(f["test"]) for f in folds]
    for train_f, test_f, fits in outer:
        assert fits and all((a | b) <= train_f and not (a | b) & test_f and len(b) == 1 for a, b in fits)
        assert {f for _, b in fits for f in b} == train_f              # every training family left out once
    for fold in folds:
        sel = fold["selection"]
        assert set(sel["families"]) == set(fold["train"]) and len(sel["grid"]) == len(ld.SELECT_GRID)
        assert fold["config"] == {k: ld.SELECT_GRID[sel["chosen"]][k]
                                  for k in ("hidden", "weight_decay", "margin", "body_facts")}
    assert "chosen by leave-one-family-out" in get("loop-decisions").format_report(report)


def test_the_released_model_loads_and_its_config_matches() -> None:
    policy = LoopPolicy.load(ROOT / "models" / "loop-decisions")
    assert policy.config == load_config(ROOT / "models" / "loop-decisions" / "config.toml")
    assert policy.config.held_out() == () and policy.config.select
    sel = policy.meta["selection"]                # chosen by leave-one-family-out on every family
    assert len(sel["families"]) == 7
    assert {k: getattr(policy.config, k) for k in SELECT_GRID[0]} == SELECT_GRID[sel["chosen"]]


def test_predict_prints_advice_for_c(tmp_path: Path, capsys) -> None:
    from irpipe.llvm.native import plugin_path
    from irpipe.llvm.tools import Toolchain

    try:
        Toolchain().find("clang")
    except Exception:  # noqa: BLE001 - no clang-22 here
        pytest.skip("clang-22 not found")
    if not plugin_path().is_file():
        pytest.skip("the pass plugin is not built")
    src = tmp_path / "k.c"
    src.write_text("void k(int *restrict a, const int *restrict b, int n) {\n"
                   "  for (int i = 0; i < n; i++) a[i] += b[i] * 3;\n}\n")
    assert main(["predict", "--problem", "loop-decisions", str(src), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [lp["id"] for lp in out["loops"]] == ["k/L0"]
    assert out["advice"]["format"] == "irpipe.advice" and out["advice"]["version"] == 2
    assert set(out["loops"][0]["predicted"]) <= set(DECISIONS)
