"""Recipes: one TOML per package under extractors/, parsed strictly.

A recipe says WHAT to build; nothing in it is code.  Unknown keys are errors
(a typo'd key must not silently change a build; the message suggests the close
match), and so are unknown kinds, values of the wrong type, a local source path
that does not exist, and an empty or binary file.  :func:`collect_recipes` parses
a whole list up front, so ``irpipe extract`` reports every bad recipe before it
starts Ray.

    [package]                  # required
    name = "zlib"              # package (or crate / PyPI project) name
    version = "1:1.2.13.dfsg-1"

    [source]                   # required
    kind = "debian"            # debian | pypi | debian-crate | local | numba
    path = "../local/tiny"     # local only: directory or tarball, relative to the recipe

    [build]
    kind = "debian-rules"      # autoconf | make | cmake | meson | debian-rules | setuptools | cargo | numba | jax
    args = []                  # extra configure/cmake/meson/cargo arguments
    make_args = []
    env = {}                   # extra environment for the build
    subdir = ""                # build inside this subdirectory of the source tree
    timeout = 1800             # seconds for fetch+build
    memory_mb = 6144           # address-space limit for every build process
    build_requires = []        # setuptools only: PyPI build deps, fetched before the offline build
    install_build_deps = true  # debian only: apt-get build-dep before building (root)

    [license]                  # optional override when metadata is missing
    expression = "MIT"
    files = ["LICENSE"]

    [numba]                    # numba only: "module:function" = ["signature", ...]
    functions = { "pkg.mod:f" = ["float64(float64[:])"] }

    [jax]                      # jax only (source local or pypi): "module:function" = [input variants]
    functions = { "mlp:mlp2" = ["f32[64,128] f32[128,256]", "f32[8,32] f32[32,16]"] }
                               # each variant: space-separated argument specs DTYPE[d0,d1,...],
                               # DTYPE in f16 bf16 f32 f64 i8 i32 i64 i1 (scalars: f32[])
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from irpipe.errors import RecipeError

SOURCE_KINDS = ("debian", "pypi", "debian-crate", "local", "numba")
BUILD_KINDS = ("autoconf", "make", "cmake", "meson", "debian-rules", "setuptools", "cargo", "numba", "jax")
_DEFAULT_BUILD = {"debian": "debian-rules", "pypi": "setuptools", "debian-crate": "cargo",
                  "local": "make", "numba": "numba"}
_KEYS = {
    "package": {"name", "version", "description"},
    "source": {"kind", "path"},
    "build": {"kind", "args", "make_args", "env", "subdir", "timeout", "memory_mb",
              "build_requires", "install_build_deps", "cpus"},
    "license": {"expression", "files"},
    "numba": {"functions"},
    "jax": {"functions"},
}
#: The type of each key's value ("str" when not listed); checked before anything is built.
_TYPES = {"package.version": "scalar", "build.args": "list", "build.make_args": "list", "build.env": "strings",
          "build.timeout": "number", "build.memory_mb": "count", "build.cpus": "count",
          "build.build_requires": "list", "build.install_build_deps": "bool", "license.files": "list",
          "numba.functions": "table", "jax.functions": "table"}
_TYPE_NAMES = {"str": "a string", "list": "a list of strings", "strings": "a table of strings",
               "number": "a positive number", "count": "a positive integer", "bool": "true or false",
               "scalar": "a string", "table": "a table"}
#: Argument dtypes a [jax] input spec may name.
JAX_DTYPES = ("f16", "bf16", "f32", "f64", "i8", "i32", "i64", "i1")
_ARG_SPEC = re.compile(r"^(%s)\[(\d+(?:,\d+)*)?\]$" % "|".join(JAX_DTYPES))


@dataclass(frozen=True)
class Recipe:
    """One package to extract.  ``id`` is the recipe's path under the recipe root, sans .toml."""

    id: str
    name: str
    version: str
    source_kind: str
    build_kind: str
    path: str = ""
    local_path: str | None = None
    args: tuple[str, ...] = ()
    make_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    subdir: str = ""
    timeout: float = 1800.0
    memory_mb: int = 6144
    cpus: int = 1
    build_requires: tuple[str, ...] = ()
    install_build_deps: bool = True
    license_expression: str | None = None
    license_files: tuple[str, ...] = ()
    numba_functions: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    jax_functions: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @property
    def package_source(self) -> str:
        """ComPile's package_source: where the sources come from, as a spec string."""
        if self.source_kind == "local":
            return f"local:{self.local_path}"
        return f"{self.source_kind}:{self.name}={self.version}"


def _want(cond: bool, path: Path, msg: str) -> None:
    if not cond:
        raise RecipeError(f"{path}: {msg}")


def _read(path: Path) -> dict[str, Any]:
    """The recipe's TOML tables; a missing, empty, binary or malformed file is a one-line error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc.strerror or exc}") from exc
    _want(bool(raw.strip()), path, "empty recipe; a recipe needs at least [package] name and version, "
                                   "and [source] kind")
    nul = raw.find(b"\0")
    _want(nul < 0, path, f"cannot read recipe: binary data, not TOML text (a NUL byte at offset {nul})")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: cannot read recipe: binary data, not TOML text "
                          f"(not UTF-8 at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: cannot read recipe: not valid TOML: {exc}") from exc


def _type_ok(value: Any, want: str) -> bool:
    if want == "list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if want == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if want == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if want == "scalar":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if want == "strings":
        return isinstance(value, dict) and all(isinstance(v, (str, int, float)) for v in value.values())
    return isinstance(value, {"str": str, "bool": bool, "table": dict}[want])


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_tables(data: dict[str, Any], path: Path) -> None:
    """Only known tables and keys, each value of its declared type (:data:`_TYPES`)."""
    for table, value in data.items():
        _want(table in _KEYS, path, f"unknown table [{table}]{_did_you_mean(table, _KEYS)}; known: {sorted(_KEYS)}")
        _want(isinstance(value, dict), path, f"[{table}] must be a table")
        for key, item in value.items():
            _want(key in _KEYS[table], path, f"unknown key '{key}' in [{table}]"
                  f"{_did_you_mean(key, _KEYS[table])}; known: {sorted(_KEYS[table])}")
            want = _TYPES.get(f"{table}.{key}", "str")
            _want(_type_ok(item, want), path, f"[{table}] {key} = {repr(item)[:60]}: want {_TYPE_NAMES[want]}")


def parse_recipe(path: Path, *, root: Path | None = None) -> Recipe:
    """Parse one recipe TOML; raise :class:`RecipeError` with the file and the bad key."""
    path = Path(path)
    data = _read(path)
    _check_tables(data, path)
    pkg, src = data.get("package", {}), data.get("source", {})
    build, lic, nb = data.get("build", {}), data.get("license", {}), data.get("numba", {})
    jx = data.get("jax", {})
    _want("name" in pkg and "version" in pkg, path, "[package] needs name and version")
    kind = src.get("kind")
    _want(kind in SOURCE_KINDS, path, f"[source] kind {kind!r}; known: {list(SOURCE_KINDS)}")
    build_kind = build.get("kind", _DEFAULT_BUILD[kind])
    _want(build_kind in BUILD_KINDS, path, f"[build] kind {build_kind!r}; known: {list(BUILD_KINDS)}")
    local = None
    if kind == "local":
        _want("path" in src, path, "[source] kind 'local' needs path")
        local = str((path.parent / src["path"]).resolve())
        _want(Path(local).exists(), path, f"[source] path {src['path']!r}: no such file or directory ({local})")
    if kind == "numba":
        _want(bool(nb.get("functions")), path, "[numba] functions is required for kind 'numba'")
    if build_kind == "jax":
        _want(kind in ("local", "pypi"), path, "[build] kind 'jax' needs [source] kind 'local' or 'pypi'")
        _check_jax_functions(jx.get("functions"), path)
    root = root or path.parent
    try:
        rid = str(path.resolve().relative_to(root.resolve()).with_suffix(""))
    except ValueError:
        rid = path.stem
    try:
        return Recipe(
            id=rid, name=str(pkg["name"]), version=str(pkg["version"]), source_kind=kind,
            build_kind=build_kind, path=str(path), local_path=local,
            args=tuple(map(str, build.get("args", ()))),
            make_args=tuple(map(str, build.get("make_args", ()))),
            env=tuple(sorted((str(k), str(v)) for k, v in build.get("env", {}).items())),
            subdir=str(build.get("subdir", "")), timeout=float(build.get("timeout", 1800)),
            memory_mb=int(build.get("memory_mb", 6144)), cpus=int(build.get("cpus", 1)),
            build_requires=tuple(build.get("build_requires", ())),
            install_build_deps=bool(build.get("install_build_deps", True)),
            license_expression=lic.get("expression"), license_files=tuple(lic.get("files", ())),
            numba_functions=tuple(sorted((k, tuple(v)) for k, v in nb.get("functions", {}).items())),
            jax_functions=tuple(sorted((k, tuple(v)) for k, v in jx.get("functions", {}).items())),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise RecipeError(f"{path}: bad value: {exc}") from exc


def _check_jax_functions(functions: Any, path: Path) -> None:
    _want(isinstance(functions, dict) and bool(functions), path,
          "[jax] functions is required for build kind 'jax': \"module:function\" = [\"f32[4,4] f32[4]\", ...]")
    for target, variants in functions.items():
        _want(":" in target, path, f"[jax] functions key {target!r} must be \"module:function\"")
        _want(isinstance(variants, list) and bool(variants), path,
              f"[jax] functions.{target!r} must be a non-empty list of input variants")
        for variant in variants:
            for spec in str(variant).split():
                _want(bool(_ARG_SPEC.match(spec)), path,
                      f"[jax] functions.{target!r}: bad argument spec {spec!r}; want DTYPE[d0,d1,...] "
                      f"with DTYPE in {', '.join(JAX_DTYPES)}")


def parse_arg_spec(spec: str) -> tuple[str, tuple[int, ...]]:
    """``"f32[64,128]"`` -> ``("f32", (64, 128))``; ``"f32[]"`` is a scalar."""
    match = _ARG_SPEC.match(spec)
    if match is None:
        raise RecipeError(f"bad argument spec {spec!r}; want DTYPE[d0,d1,...]")
    dims = match.group(2)
    return match.group(1), tuple(int(d) for d in dims.split(",")) if dims else ()


def find_recipes(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories (recursively, ``*.toml``) into a sorted recipe list.

    Raises :class:`RecipeError` for a path that does not exist and for a directory
    that holds no ``*.toml`` recipe (a wrong directory must not extract nothing, successfully).
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(p.rglob("*.toml"))
            _want(bool(inside), p, "no recipes (*.toml) in this directory or below")
            found.extend(inside)
        elif p.is_file():
            found.append(p)
        else:
            raise RecipeError(f"{p}: no such recipe file or directory")
    return sorted(set(found))


def collect_recipes(paths: Iterable[str | Path]) -> tuple[list[Recipe], list[tuple[str, str]]]:
    """Parse every recipe under ``paths``: the valid ones, and ``(where, one-line error)`` for
    each invalid or duplicate one (``where`` is the file, or the id of a duplicate).

    Raises :class:`RecipeError` when a path is missing or a directory holds no recipe.
    """
    recipes: list[Recipe] = []
    bad: list[tuple[str, str]] = []
    ids: dict[str, Path] = {}
    for path in find_recipes(paths):
        try:
            recipe = parse_recipe(path, root=recipe_root(path))
        except RecipeError as exc:
            bad.append((str(path), " ".join(str(exc).split())))
            continue
        if recipe.id in ids:
            bad.append((recipe.id, f"{path}: duplicate recipe id {recipe.id} (also {ids[recipe.id]})"))
            continue
        ids[recipe.id] = path
        recipes.append(recipe)
    return recipes, bad


def recipe_root(path: Path) -> Path:
    """The extractors/ directory above ``path`` (for stable recipe ids), else its parent."""
    for parent in Path(path).resolve().parents:
        if parent.name == "extractors":
            return parent
    return Path(path).resolve().parent
