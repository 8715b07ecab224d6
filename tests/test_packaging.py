"""Packaging: ``pip install .`` gives a working irpipe, ``python -m irpipe`` works, the metadata is right.

The real install is non-editable, from a copy of the checkout's sources, into a ``--target``
folder (no network: ``--no-deps --no-build-isolation --no-index``), and run from a folder
outside the checkout with this venv's packages: it must find the native library and the default
model the wheel carries.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from irpipe import paths
from irpipe.errors import ToolNotFound
from irpipe.testing.factories import SIMPLE_IR
from irpipe.testing.gates import requires_llvm

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIP = [sys.executable, "-m", "pip"]


def _requirements(extras: bool = True) -> list[Requirement]:
    project = PROJECT["project"]
    reqs = list(project["dependencies"])
    if extras:
        reqs += [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return [Requirement(r) for r in reqs]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split(";")[0].split("==")
            pins[name.split("[")[0].strip().lower().replace("_", "-")] = version.strip()
    return pins


def _third_party_imports() -> set[str]:
    """Top-level modules that irpipe's code imports, other than the standard library and irpipe."""
    names = set()
    for path in (ROOT / "irpipe").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("irpipe", "__future__")}


def test_python_m_irpipe() -> None:
    proc = subprocess.run([sys.executable, "-m", "irpipe", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: irpipe"), proc.stderr[-2000:]
    proc = subprocess.run([sys.executable, "-m", "irpipe", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == f"irpipe {md.version('irpipe')}"


def test_dependencies_declared_and_locked() -> None:
    declared = {r.name.lower().replace("_", "-") for r in _requirements()}
    dists = md.packages_distributions()
    for module in sorted(_third_party_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        assert names & declared, f"irpipe imports {module} ({names or 'not installed'}) but does not declare it"
    pins = _lock()
    for req in _requirements():
        name = req.name.lower().replace("_", "-")
        if name in ("setuptools",):  # build tooling, not in the lock; the venv's copy is checked below
            continue
        assert name in pins, f"{req} is declared but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} excludes the lock's {pins[name]}"


def test_installed_versions_satisfy_the_declared_ranges() -> None:
    """What ``pip check`` checks for irpipe, without reinstalling irpipe into this venv."""
    for req in _requirements(extras=False):
        version = md.version(req.name)
        assert req.specifier.contains(version, prereleases=True), f"{req}: {version} installed"


def test_setuptools_floor() -> None:
    assert isinstance(PROJECT["project"]["license"], str)  # an SPDX expression: PEP 639
    (floor,) = [Requirement(r) for r in PROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert not floor.specifier.contains("76.9") and floor.specifier.contains("77.0")
    assert Version(md.version("setuptools")) >= Version("77")


def test_setup_and_paths_agree() -> None:
    consts = {t.id: ast.literal_eval(node.value) for node in ast.parse((ROOT / "setup.py").read_text()).body
              if isinstance(node, ast.Assign) for t in node.targets if t.id in ("MODELS", "LIBRARIES")}
    assert consts == {"MODELS": paths.DEFAULT_MODELS, "LIBRARIES": (paths.NATIVE_LIBRARY, paths.PASS_PLUGIN)}
    manifest = (ROOT / "MANIFEST.in").read_text()
    assert all(f"graft models/{name}" in manifest for name in paths.DEFAULT_MODELS)


def test_native_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from irpipe.llvm import native

    assert paths.checkout() == ROOT
    monkeypatch.delenv(paths.NATIVE_ENV, raising=False)
    assert paths.native_candidates() == [ROOT / "passes/build/lib" / paths.NATIVE_LIBRARY,
                                         paths.PACKAGED_NATIVE / paths.NATIVE_LIBRARY]
    assert paths.model_dir("default") == ROOT / "models" / "default"
    assert paths.pass_plugin().parent == paths.native_library().parent
    monkeypatch.setenv(paths.NATIVE_ENV, str(tmp_path / "nope.so"))  # explicit: nothing else is tried
    assert paths.native_library() == tmp_path / "nope.so"
    native.load.cache_clear()
    try:
        with pytest.raises(ToolNotFound, match="IRPIPE_NATIVE_LIB=.*nope.so does not exist"):
            native.load()
    finally:
        native.load.cache_clear()


def test_installed_layout_uses_the_package_copies(tmp_path: Path) -> None:
    """irpipe/paths.py in a wheel's layout (no checkout above it) finds irpipe/_native and _models."""
    pkg = tmp_path / "site" / "irpipe"
    (pkg / "_native").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copy2(ROOT / "irpipe" / "paths.py", pkg / "paths.py")
    (pkg / "_native" / paths.NATIVE_LIBRARY).write_bytes(b"")
    (pkg / "_models" / "default").mkdir(parents=True)
    code = ("import json, irpipe.paths as p; print(json.dumps([p.checkout(), str(p.native_library()), "
            "str(p.pass_plugin()), str(p.model_dir('default')), p.repo_file('constraints.txt'), "
            "p.native_missing_hint()]))")
    env = {k: v for k, v in os.environ.items() if k != paths.NATIVE_ENV}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "PYTHONPATH": str(pkg.parent)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    root, lib, plugin, model, constraints, hint = json.loads(proc.stdout)
    assert root is None and constraints is None
    assert lib == str(pkg / "_native" / paths.NATIVE_LIBRARY) and plugin == str(pkg / "_native" / paths.PASS_PLUGIN)
    assert model == str(pkg / "_models" / "default")
    assert hint.startswith(f"looked in {pkg / '_native'}; reinstall irpipe where LLVM 22")


def _copy_sources(dest: Path) -> Path:
    """What ``pip install .`` reads from the checkout (the built libraries included), nothing else."""
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "irpipe", dest / "irpipe", ignore=skip)
    (dest / "passes").mkdir()
    shutil.copy2(ROOT / "passes" / "CMakeLists.txt", dest / "passes")
    for sub in ("include", "lib", "build/lib"):
        if (ROOT / "passes" / sub).is_dir():
            shutil.copytree(ROOT / "passes" / sub, dest / "passes" / sub)
    for name in paths.DEFAULT_MODELS:
        shutil.copytree(ROOT / "models" / name, dest / "models" / name)
    return dest


@requires_llvm
def test_pip_install_works_outside_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    src = _copy_sources(tmp_path / "src")
    site = tmp_path / "site"
    common = ["--no-build-isolation", "--no-index", "--disable-pip-version-check", "-q"]
    proc = subprocess.run([*PIP, "install", "--no-deps", *common, "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in (site / "irpipe" / "_native").iterdir()) == sorted(
        [paths.NATIVE_LIBRARY, paths.PASS_PLUGIN])
    # every declared dependency is satisfied by what is installed (pip resolves offline, installs nothing)
    proc = subprocess.run([*PIP, "install", "--dry-run", *common, str(src)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (paths.NATIVE_ENV, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)

    def run(*argv: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(argv, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{argv}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        return proc

    assert run(sys.executable, "-m", "irpipe", "--help").stdout.startswith("usage: irpipe")
    where = json.loads(run(sys.executable, "-c", "import json, irpipe.paths as p, irpipe.cli.optimize as o; "
                           "print(json.dumps([p.__file__, str(o.DEFAULT_MODEL), p.checkout()]))").stdout)
    assert where[0].startswith(str(site)) and where[1] == str(site / "irpipe" / "_models" / "default")
    assert where[2] is None
    versions = json.loads(run(str(site / "bin" / "irpipe"), "env", "--json").stdout)["versions"]
    assert str(site / "irpipe" / "_native" / paths.NATIVE_LIBRARY) in versions["libIRPipeAnalysis"]
    (elsewhere / "tiny.ll").write_text(SIMPLE_IR)
    result = json.loads(run(str(site / "bin" / "irpipe"), "optimize", "tiny.ll", "-o", "out.ll", "--json").stdout)
    assert result["pipeline"] and (elsewhere / "out.ll").read_text().lstrip()
