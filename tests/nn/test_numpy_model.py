"""irpipe.nn.numpy_model: the released models' forward pass without torch, equal to torch's;
the cold path of ``irpipe optimize`` imports neither torch, torch_geometric nor scipy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from irpipe.errors import ModelError
from irpipe.train.predict import Predictor
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, generated_module, sample_modules
from irpipe.testing.gates import requires_llvm

ROOT = Path(__file__).resolve().parents[2]
MODELS = [ROOT / "models" / "default", ROOT / "models" / "default-transformer"]
# scipy.sparse (~0.1 s) runs the GNN's message passing; scipy.stats (~0.6 s) is training's
HEAVY = ("torch", "torch_geometric", "scipy.stats")

# no defined function: a graph with no instruction, no token chunk
DECLARATIONS_IR = "declare i32 @ext(i32)\n@g = global i32 1\n"


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str | bytes]]:
    """Hand-written IR, real modules of four languages, and a generated ~2k-instruction
    module with more functions than the transformer's 16 chunks."""
    out: list[tuple[str, str | bytes]] = [("simple", SIMPLE_IR), ("graph", GRAPH_IR),
                                          ("declarations", DECLARATIONS_IR)]
    out += sample_modules(6)
    if shutil.which("clang-22"):
        out.append(("generated", generated_module(tmp_path_factory.mktemp("gen"), functions=20)))
    return out


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_numpy_equals_torch(model: Path, modules: list[tuple[str, str | bytes]]) -> None:
    fast, ref = Predictor.load(model, backend="numpy"), Predictor.load(model, backend="torch")
    assert (fast.backend, ref.backend) == ("numpy", "torch")
    inputs = [fast.inputs(data, name) for name, data in modules]
    for (name, _), a, b in zip(modules, fast.predict_inputs(inputs), ref.predict_inputs(inputs)):
        np.testing.assert_allclose(a.cost, b.cost, atol=1e-4, rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4, rtol=1e-4, err_msg=name)
        for objective in ("instcount", "size"):
            for head in ("policy", "cost"):
                assert a.ranking(objective, head) == b.ranking(objective, head), (name, objective, head)
            assert fast.verify_set(a, objective) == ref.verify_set(b, objective), name


def test_auto_backend_is_numpy_for_released_archs() -> None:
    for model in MODELS:
        p = Predictor.load(model)
        assert p.backend == "numpy" and p.arch in ("gnn", "transformer")
        assert repr(p.model).startswith("NumpyModel(")
    with pytest.raises(ValueError, match="backend 'onnx'"):
        Predictor.load(MODELS[0], backend="onnx")


def test_empty_batch() -> None:
    p = Predictor.load(MODELS[0])
    assert p.predict_inputs([]) == []
    cost, scores = p.model.predict([])
    assert cost.shape == (0, len(p.pset.pipelines), 2) and scores.shape == (0, 2, len(p.pset.pipelines))


def _rewrite_weights(src: Path, dst: Path, change) -> Path:
    from safetensors.numpy import load_file, save_file

    shutil.copytree(src, dst)
    arrays = load_file(str(dst / "model.safetensors"))
    change(arrays)
    save_file(arrays, str(dst / "model.safetensors"))
    return dst


def test_refuses_weights_that_do_not_match(tmp_path: Path) -> None:
    missing = _rewrite_weights(MODELS[0], tmp_path / "missing",
                               lambda a: a.pop("encoder.layers.2.update.weight"))
    with pytest.raises(ModelError, match="missing 'encoder.layers.2.update.weight'"):
        Predictor.load(missing)
    extra = _rewrite_weights(MODELS[0], tmp_path / "extra",
                             lambda a: a.update({"encoder.layers.3.update.bias": np.zeros(64, np.float32)}))
    with pytest.raises(ModelError, match="unexpected.*layers.3"):
        Predictor.load(extra)
    shape = _rewrite_weights(MODELS[0], tmp_path / "shape",
                             lambda a: a.update({"encoder.embed.weight": a["encoder.embed.weight"][:10]}))
    with pytest.raises(ModelError, match="encoder.embed.weight has shape"):
        Predictor.load(shape)
    (shape / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="cannot read weights"):
        Predictor.load(shape)


# Run in a child: a meta-path hook refuses torch, torch_geometric and scipy.stats and logs every
# attempt (the isolated-LLVM children too: they start Python, which reads sitecustomize).
SITECUSTOMIZE = textwrap.dedent("""\
    import os, sys

    class _Refuse:
        def find_spec(self, name, path=None, target=None):
            if any(name == h or name.startswith(h + ".") for h in {heavy!r}):
                with open(os.environ["IRPIPE_TEST_IMPORT_LOG"], "a") as f:
                    f.write(f"{{os.getpid()}} {{name}}\\n")
                raise ImportError(f"{{name}} refused on the cold path")
            return None

    sys.meta_path.insert(0, _Refuse())
    """)


def _cold(tmp_path: Path, code: str) -> tuple[subprocess.CompletedProcess, str]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE.format(heavy=HEAVY))
    log = tmp_path / "imports.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
           "IRPIPE_TEST_IMPORT_LOG": str(log)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    return proc, log.read_text() if log.exists() else ""


@requires_llvm
def test_optimize_cli_imports_no_torch(tmp_path: Path) -> None:
    src = tmp_path / "m.ll"
    src.write_text(GRAPH_IR)
    code = textwrap.dedent(f"""\
        import sys
        from irpipe.cli.main import main
        rc = main(["optimize", {str(src)!r}, "--objective", "instcount", "--json",
                   "-o", {str(tmp_path / "out.ll")!r}])
        print("HEAVY", sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {HEAVY!r})))
        sys.exit(rc)
        """)
    proc, refused = _cold(tmp_path, code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert refused == "", refused
    assert "HEAVY []" in proc.stdout
    doc = json.loads(proc.stdout[:proc.stdout.index("HEAVY")])
    assert doc["pipeline"] and (tmp_path / "out.ll").is_file()


def test_predictor_imports_no_torch(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""\
        import sys
        from irpipe.train.predict import Predictor
        for model in {[str(m) for m in MODELS]!r}:
            p = Predictor.load(model)
            pred = p.predict({SIMPLE_IR!r})
            assert len(p.verify_set(pred, "size")) == 10 and p.cache_key(p.inputs({SIMPLE_IR!r}))
        print("HEAVY", sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {HEAVY!r})))
        """)
    proc, refused = _cold(tmp_path, code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert refused == "" and "HEAVY []" in proc.stdout, (refused, proc.stdout)
