"""One checkpoint format for every problem: safetensors + model.json {format, version, problem, config, ...};
the released models, written before it, still load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from irpipe.errors import ModelError
from irpipe.nn.checkpoint_files import FORMAT, VERSION, document, read_meta, write_checkpoint, write_meta
from irpipe.nn.inliner import InlinerPolicy

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


@pytest.mark.parametrize("folder, problem", [("default", "phase-order"), ("default-transformer", "phase-order"),
                                             ("mlir-cost", "mlir-cost"), ("inliner", "inliner")])
def test_released_models_are_read_with_their_problem(folder: str, problem: str) -> None:
    meta = read_meta(MODELS / folder)
    assert meta["problem"] == problem and isinstance(meta["config"], dict)
    assert read_meta(MODELS / folder, problem=problem)["problem"] == problem


def test_released_models_load() -> None:
    from irpipe.train.mlir_cost import MlirCostPredictor
    from irpipe.train.predict import Predictor

    assert Predictor.load(MODELS / "default").pset.pipelines
    assert MlirCostPredictor.load(MODELS / "mlir-cost").configs
    policy = InlinerPolicy.load(MODELS / "inliner")
    assert len(policy.names) == 39 and policy.info["held_out"]["modules"] == 80


def test_a_model_of_another_problem_is_refused_by_name() -> None:
    from irpipe.train.mlir_cost import MlirCostPredictor
    from irpipe.train.predict import Predictor

    with pytest.raises(ModelError, match="a mlir-cost model, not phase-order"):
        Predictor.load(MODELS / "mlir-cost")
    with pytest.raises(ModelError, match="a phase-order model, not mlir-cost"):
        MlirCostPredictor.load(MODELS / "default")
    with pytest.raises(ModelError, match="a phase-order model, not inliner"):
        InlinerPolicy.load(MODELS / "default")


def test_the_inliner_saves_the_one_schema_and_reads_its_legacy_files(tmp_path: Path) -> None:
    legacy = InlinerPolicy.load(MODELS / "inliner")
    legacy.save(tmp_path / "new")
    doc = json.loads((tmp_path / "new" / "model.json").read_text())
    assert (doc["format"], doc["version"], doc["problem"]) == (FORMAT, VERSION, "inliner")
    assert doc["config"] == legacy.info["config"] and doc["features"] == legacy.names
    assert not (tmp_path / "new" / "inliner.json").exists()
    again = InlinerPolicy.load(tmp_path / "new")
    assert np.allclose(again.params, legacy.params) and again.info == legacy.info


def test_other_versions_and_incomplete_documents_are_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "m", {"w": np.zeros(2)}, "mlir-cost", {"hidden": 4}, {"note": 1})
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc == {**document("mlir-cost", {"hidden": 4}, {"note": 1})}
    (tmp_path / "m" / "model.json").write_text(json.dumps({**doc, "version": 3}))
    with pytest.raises(ModelError, match="checkpoint format v3, this irpipe reads v2"):
        read_meta(tmp_path / "m")
    with pytest.raises(ModelError, match="missing"):
        write_meta(tmp_path / "m", {"format": FORMAT, "version": VERSION})


def test_a_v1_checkpoint_keeps_loading(tmp_path: Path) -> None:
    shutil.copytree(MODELS / "mlir-cost", tmp_path / "v1")
    meta = json.loads((tmp_path / "v1" / "model.json").read_text())
    # the v1 layout (mlir-cost was committed so until 2026-12-08): format_version, no version or problem
    meta = {**{k: v for k, v in meta.items() if k not in ("version", "problem", "kind")}, "format_version": 1}
    (tmp_path / "v1" / "model.json").write_text(json.dumps(meta))
    assert read_meta(tmp_path / "v1")["problem"] == "phase-order"  # v1 without a kind: phase order
