"""Fetch a recipe's sources into a work directory (network allowed here, not in builds).

- debian: ``apt-get source NAME=VERSION`` through a private apt configuration
  (its own sources list with deb-src entries, lists and cache directories), so
  the system's apt lists are never touched.
- pypi: ``pip download --no-binary :all:`` (an sdist, never a wheel), unpacked.
- debian-crate: the ``librust-NAME-dev`` .deb and its librust-* dependencies,
  unpacked into a cargo directory registry.
- local: a directory copied, or a tarball unpacked.
- numba: the project's wheel or sdist from PyPI, unpacked (pure Python is read, not built).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from irpipe.errors import FetchError, ToolError, ToolTimeout
from irpipe.extract.recipes import Recipe
from irpipe.runtime import process
from irpipe.runtime.process import tail

DEB_SRC_LINES = """\
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
"""
APT_LISTS_MAX_AGE = 24 * 3600


def _run(argv: list[str], cwd: Path, what: str, timeout: float = 900) -> str:
    try:
        proc = process.run(argv, what=what, cwd=cwd, timeout=timeout, check=False,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"})
    except ToolTimeout as exc:
        raise FetchError(f"{what}: timed out after {timeout:g}s") from exc
    except ToolError as exc:  # the fetcher (apt-get, pip, dpkg-deb) cannot start
        raise FetchError(str(exc)) from exc
    out = (proc.stdout + proc.stderr).decode("utf-8", errors="replace")
    if proc.returncode != 0:
        err = [ln for ln in out.splitlines() if ln.startswith(("E:", "ERROR:"))]
        raise FetchError(f"{what}: {err[-1] if err else 'exit ' + str(proc.returncode)}\n{tail(out)}")
    return out


class PrivateApt:
    """An apt configuration of irpipe's own (deb-src lists + caches under ``root``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def options(self) -> list[str]:
        r = self.root
        return [
            "-o", f"Dir::Etc::SourceList={r / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={r / 'lists'}", "-o", f"Dir::Cache={r / 'cache'}",
            "-o", "APT::Get::Only-Source=true", "-o", "Acquire::Retries=3",
            "-o", "Debug::NoLocking=0", "-o", "APT::Sandbox::User=root",
        ]

    def update(self) -> None:
        """``apt-get update`` on the private lists, at most once a day, under a file lock."""
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "sources.list").write_text(DEB_SRC_LINES)
        stamp = self.root / "updated"
        with open(self.root / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if stamp.exists() and time.time() - stamp.stat().st_mtime < APT_LISTS_MAX_AGE:
                return
            _run(["apt-get", *self.options(), "update"], self.root, "apt-get update (private lists)")
            stamp.touch()

    def source(self, name: str, version: str, dest: Path) -> Path:
        """Download and unpack a Debian source package; return its tree."""
        self.update()
        dest.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", *self.options(), "source", "--only-source", f"{name}={version}"],
             dest, f"apt-get source {name}={version}")
        trees = [p for p in dest.iterdir() if p.is_dir() and (p / "debian").is_dir()]
        if len(trees) != 1:
            raise FetchError(f"apt-get source {name}={version}: expected one unpacked tree, got {trees}")
        return trees[0]


PYPI_SIMPLE = "https://pypi.org/simple/{name}/"
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch_pypi_sdist(name: str, version: str, dest: Path) -> Path:
    """Download the sdist of ``name==version`` (never a wheel), check its sha256, unpack it.

    Reads PyPI's simple index (PEP 691 JSON), so no code of the package runs at
    fetch time (``pip download`` would run its build backend for metadata).
    """
    req = urllib.request.Request(PYPI_SIMPLE.format(name=_normalize(name)),
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            files = json.load(resp)["files"]
    except urllib.error.HTTPError as exc:
        raise FetchError(f"PyPI has no project {name!r} (HTTP {exc.code})") from exc
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        raise FetchError(f"PyPI index unreachable for {name}: {exc}") from exc
    stem = f"{_normalize(name)}-{version}."
    sdists = [f for f in files if f["filename"].endswith(_SDIST_SUFFIXES)
              and f["filename"].lower().replace("_", "-").startswith(stem)]
    if not sdists:
        versions = sorted({f["filename"] for f in files if f["filename"].endswith(_SDIST_SUFFIXES)})[-3:]
        raise FetchError(f"PyPI has no sdist of {name}=={version} (latest sdists: {', '.join(versions) or 'none'})")
    sdist = sdists[0]
    dl = dest / "download"
    dl.mkdir(parents=True, exist_ok=True)
    archive = dl / sdist["filename"]
    try:
        with urllib.request.urlopen(sdist["url"], timeout=300) as resp, open(archive, "wb") as fh:
            shutil.copyfileobj(resp, fh)
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{name}=={version}: sdist download failed: {exc}") from exc
    want = sdist.get("hashes", {}).get("sha256")
    if want and hashlib.sha256(archive.read_bytes()).hexdigest() != want:
        raise FetchError(f"{name}=={version}: sdist sha256 mismatch")
    return unpack(archive, dest / "src")


def fetch_pypi_any(name: str, version: str, dest: Path) -> Path:
    """Download ``name==version`` (wheel allowed: its Python code is read, not built)."""
    dl = dest / "download"
    dl.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dl), f"{name}=={version}"],
         dest, f"pip download {name}=={version}")
    return unpack(next(dl.iterdir()), dest / "src")


def install_build_requires(reqs: tuple[str, ...], dest: Path, constraints: Path | None) -> Path:
    """pip-install a setuptools build's requirements into ``dest`` (put on PYTHONPATH later)."""
    target = dest / "buildreq"
    if reqs and not target.exists():
        extra = ["-c", str(constraints)] if constraints and constraints.exists() else []
        _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target) + ".tmp",
              *extra, *reqs], dest, f"pip install build requirements {' '.join(reqs)}")
        os.replace(str(target) + ".tmp", target)
    target.mkdir(exist_ok=True)
    return target


def fetch_debian_crate(name: str, version: str, dest: Path) -> Path:
    """Download librust-NAME-dev and its librust-* dependencies into a cargo directory registry."""
    debs = dest / "debs"
    (debs / "partial").mkdir(parents=True, exist_ok=True)
    pkg = f"librust-{name.replace('_', '-')}-dev"
    (dest / "empty-status").touch()  # resolve as on an empty system: every librust-* dependency
    _run(["apt-get", "-o", f"Dir::Cache::archives={debs}", "-o", "Debug::NoLocking=1",
          "-o", f"Dir::State::status={dest / 'empty-status'}", "install", "--download-only", "-y",
          "--no-install-recommends", f"{pkg}={version}"],
         dest, f"apt-get download {pkg}={version}")
    registry = dest / "registry"
    registry.mkdir(exist_ok=True)
    for deb in sorted(debs.glob("librust-*.deb")):
        unpacked = dest / "unpacked" / deb.stem
        unpacked.mkdir(parents=True, exist_ok=True)
        _run(["dpkg-deb", "-x", str(deb), str(unpacked)], dest, f"dpkg-deb -x {deb.name}")
        for crate in (unpacked / "usr/share/cargo/registry").glob("*"):
            if not (registry / crate.name).exists():
                shutil.copytree(crate, registry / crate.name, symlinks=True)
    if not any(registry.glob(f"{name}-*")):
        raise FetchError(f"{pkg}={version}: crate {name} not found in the downloaded packages")
    return registry


_SAFE = re.compile(r"^[\w.+-]+$")


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a tarball or zip safely (no absolute paths, no ``..``); return the top directory."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise FetchError(f"{archive.name}: unsafe path {member!r}")
                zf.extractall(dest)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{archive}: cannot unpack: {exc}") from exc
    entries = [p for p in dest.iterdir()]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def fetch_local(path: str, dest: Path) -> Path:
    """Copy a local source tree, or unpack a local tarball."""
    src = Path(path)
    if src.is_dir():
        out = dest / "src"
        shutil.copytree(src, out, symlinks=True, dirs_exist_ok=True)
        return out
    if src.is_file():
        return unpack(src, dest / "src")
    raise FetchError(f"local source {src} does not exist")


def fetch(recipe: Recipe, dest: Path, apt: PrivateApt) -> Path:
    """Fetch ``recipe``'s sources under ``dest``; return the source tree to build in."""
    kind = recipe.source_kind
    if kind == "debian":
        return apt.source(recipe.name, recipe.version, dest / "debian")
    if kind == "pypi" and recipe.build_kind == "jax":  # JAX code is read, not built: any wheel will do
        return fetch_pypi_any(recipe.name, recipe.version, dest)
    if kind == "pypi":
        return fetch_pypi_sdist(recipe.name, recipe.version, dest)
    if kind == "debian-crate":
        return fetch_debian_crate(recipe.name, recipe.version, dest)
    if kind == "local":
        return fetch_local(recipe.local_path or "", dest)
    if kind == "numba":
        return fetch_pypi_any(recipe.name, recipe.version, dest)
    raise FetchError(f"unknown source kind {kind!r}")
