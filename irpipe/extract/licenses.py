"""License detection (Debian copyright, PyPI metadata, Cargo.toml) and SPDX allow-lists.

A package's license is an SPDX expression plus the evidence: where it came
from (``license_source``) and the license text(s) found (``license_files``).
An expression is allowed when it evaluates true with every allowed identifier
true: ``MIT OR GPL-2.0-only`` passes a permissive list, ``MIT AND GPL-2.0-only`` does not.
"""

from __future__ import annotations

import email.parser
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from irpipe.errors import LicenseError

#: The default allow-list: permissive licenses (ComPile's four, and their close kin).
PERMISSIVE = frozenset({
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "BSD-1-Clause", "0BSD", "ISC",
    "Zlib", "BSL-1.0", "Unlicense", "CC0-1.0", "bzip2-1.0.6", "curl", "X11", "PSF-2.0", "Python-2.0",
    "NCSA", "libpng-2.0", "Libpng", "IJG", "MIT-CMU", "LLVM-exception", "LicenseRef-public-domain",
    "Unicode-DFS-2016", "Unicode-3.0", "FSFAP", "FSFUL", "FSFULLR", "blessing", "TCL", "CNRI-Python",
    "AFL-2.1", "OLDAP-2.8", "HPND", "LicenseRef-BSD-variant", "LicenseRef-permissive",
})

_DEBIAN_TO_SPDX = {
    "expat": "MIT", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause", "zlib": "Zlib", "apache-2.0": "Apache-2.0", "apache-2": "Apache-2.0",
    "isc": "ISC", "bsl-1.0": "BSL-1.0", "boost-1.0": "BSL-1.0", "public-domain": "LicenseRef-public-domain",
    "publicdomain": "LicenseRef-public-domain", "unlicense": "Unlicense", "cc0-1.0": "CC0-1.0",
    "cc0": "CC0-1.0", "psf-2": "PSF-2.0", "psf-2.0": "PSF-2.0", "curl": "curl", "x11": "X11",
    "bzip2-1.0.6": "bzip2-1.0.6", "bzip2": "bzip2-1.0.6", "libpng": "Libpng", "libpng-2.0": "libpng-2.0",
    "ijg": "IJG", "mpl-2.0": "MPL-2.0", "openssl": "OpenSSL", "sqlite-blessing": "blessing",
    "permissive": "LicenseRef-permissive", "bsd-variant": "LicenseRef-BSD-variant", "tcl": "TCL",
    "openldap-2.8": "OLDAP-2.8", "pd": "LicenseRef-public-domain", "boost-1": "BSL-1.0",
    "zlib-libpng": "Zlib", "mit-1": "MIT", "bsd-3-google": "BSD-3-Clause", "bsd-3-clause-google": "BSD-3-Clause",
    "expat-with-embedded-exception": "MIT", "expat-nginx": "BSD-2-Clause", "bsd-2": "BSD-2-Clause", "bsd-3": "BSD-3-Clause", "hpnd": "HPND", "unicode-dfs-2016": "Unicode-DFS-2016", "fsfap": "FSFAP", "fsful": "FSFUL", "fsfullr": "FSFULLR",
}
_GNU = re.compile(r"^(a?gpl|lgpl|gfdl)-?(\d(?:\.\d)?)(\+)?$", re.I)
_TEXT_HINTS = (
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Licensed under the Apache License, Version 2.0", "Apache-2.0"),
    ("This software is provided 'as-is', without any express or implied", "Zlib"),
    ("Permission to use, copy, modify, and/or distribute this software for any", "ISC"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL-2.0-or-later"),
)
LICENSE_FILE_RE = re.compile(r"^(licen[cs]e|copying|copyright|notice)([._-].*)?$", re.I)


@dataclass(frozen=True)
class License:
    """A detected license: SPDX expression, where it came from, and the text found."""

    expression: str
    source: str
    files: str


def debian_to_spdx(short: str) -> str:
    """Map a Debian copyright short name (``GPL-2+``, ``Expat``, ``BSD-3-clause or GPL-2``) to SPDX."""
    parts = re.split(r"\s+(or|and)\s+", short.strip(), flags=re.I)
    out = []
    for part in parts:
        low = re.sub(r"[\s/]+", "-", part.lower().strip().strip(","))
        if low in ("or", "and"):
            out.append(low.upper())
            continue
        gnu = _GNU.match(low)
        if gnu:
            base = {"gpl": "GPL", "lgpl": "LGPL", "agpl": "AGPL", "gfdl": "GFDL"}[gnu.group(1).lower()]
            ver = gnu.group(2) if "." in gnu.group(2) else gnu.group(2) + ".0"
            out.append(f"{base}-{ver}-{'or-later' if gnu.group(3) else 'only'}")
        else:
            out.append(_DEBIAN_TO_SPDX.get(low, "LicenseRef-" + re.sub(r"[^\w.-]", "-", part.strip())))
    return " ".join(out)


def from_debian(tree: Path) -> License:
    """License of a Debian source tree from the ``Files: *`` paragraph of debian/copyright."""
    path = tree / "debian" / "copyright"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise LicenseError(f"{tree.name}: no debian/copyright") from exc
    for para in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*(.+)$", para, re.M | re.I)
        lic = re.search(r"^License:\s*(.+)$", para, re.M | re.I)
        if files and lic and files.group(1).split()[0] == "*":
            return License(debian_to_spdx(lic.group(1)), "debian-copyright", text)
    return License(_guess_from_text(text), "debian-copyright", text)


def _guess_from_text(text: str) -> str:
    for phrase, spdx in _TEXT_HINTS:
        if phrase.lower() in text.lower():
            return spdx
    if "Redistribution and use in source and binary forms" in text:
        return "BSD-3-Clause" if "endorse or promote" in text else "BSD-2-Clause"
    return "LicenseRef-unknown"


def license_texts(tree: Path, names: tuple[str, ...] = ()) -> str:
    """Concatenated text of the tree's top-level license files (or the named ones)."""
    if names:
        paths = [tree / n for n in names]
    else:
        paths = sorted(p for p in tree.iterdir() if p.is_file() and LICENSE_FILE_RE.match(p.name))
    return "\n\n".join(f"==> {p.name} <==\n{p.read_text(errors='replace')}" for p in paths if p.is_file())


_CLASSIFIER_TO_SPDX = {
    "MIT License": "MIT", "BSD License": "BSD-3-Clause", "Apache Software License": "Apache-2.0",
    "ISC License (ISCL)": "ISC", "zlib/libpng License": "Zlib", "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense", "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only", "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
}
_FREE_TEXT = {"mit": "MIT", "bsd": "BSD-3-Clause", "new bsd": "BSD-3-Clause", "bsd-3": "BSD-3-Clause",
              "apache 2.0": "Apache-2.0", "apache-2.0": "Apache-2.0", "apache license 2.0": "Apache-2.0",
              "isc": "ISC", "zlib": "Zlib", "psf": "PSF-2.0", "mit license": "MIT", "bsd license": "BSD-3-Clause",
              "3-clause bsd": "BSD-3-Clause", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause",
              "apache": "Apache-2.0", "apache software license": "Apache-2.0", "lgpl": "LGPL-2.1-or-later",
              "gpl": "GPL-2.0-or-later", "public domain": "LicenseRef-public-domain"}


def from_pypi(tree: Path) -> License:
    """License of an unpacked sdist/wheel: License-Expression, License, classifiers, then files."""
    meta_path = next((p for p in (tree / "PKG-INFO", *tree.glob("*.dist-info/METADATA")) if p.is_file()), None)
    dist_info = next(iter(tree.glob("*.dist-info")), tree)
    # wheels keep license files in the dist-info, since PEP 639 under dist-info/licenses/
    files = license_texts(tree) or license_texts(dist_info)
    if not files and (dist_info / "licenses").is_dir():
        files = license_texts(dist_info / "licenses")
    if meta_path is not None:
        meta = email.parser.Parser().parsestr(meta_path.read_text(errors="replace"), headersonly=True)
        if meta.get("License-Expression"):
            return License(meta["License-Expression"].strip(), "pypi-metadata", files)
        free = (meta.get("License") or "").strip().lower()
        if free in _FREE_TEXT:
            return License(_FREE_TEXT[free], "pypi-metadata", files)
        for classifier in meta.get_all("Classifier") or []:
            if classifier.startswith("License ::"):
                name = classifier.split("::")[-1].strip()
                if name in _CLASSIFIER_TO_SPDX:
                    return License(_CLASSIFIER_TO_SPDX[name], "pypi-metadata", files)
    return License(_guess_from_text(files), "license-file", files)


def from_cargo(crate_dir: Path) -> License:
    """License of a crate from its Cargo.toml (``MIT/Apache-2.0`` legacy form becomes OR)."""
    try:
        manifest = tomllib.loads((crate_dir / "Cargo.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LicenseError(f"{crate_dir.name}: unreadable Cargo.toml: {exc}") from exc
    expr = str(manifest.get("package", {}).get("license", "LicenseRef-unknown")).replace("/", " OR ")
    return License(expr, "cargo-toml", license_texts(crate_dir))


def _tokens(expr: str) -> list[str]:
    return re.findall(r"\(|\)|[^\s()]+", expr)


def is_allowed(expr: str, allow: frozenset[str] | set[str] = PERMISSIVE) -> bool:
    """Evaluate an SPDX expression with allowed identifiers true (OR, AND, WITH, parentheses)."""
    toks, pos = _tokens(expr), 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(toks):
            raise LicenseError(f"malformed SPDX expression {expr!r}")
        pos += 1
        return toks[pos - 1]

    def factor() -> bool:
        tok = take()
        if tok == "(":
            val = disj()
            if take() != ")":
                raise LicenseError(f"malformed SPDX expression {expr!r}")
            return val
        if peek() and peek().upper() == "WITH":
            take(), take()
        return tok.rstrip("+") in allow

    def conj() -> bool:
        val = factor()
        while peek() and peek().upper() == "AND":
            take()
            val = factor() and val
        return val

    def disj() -> bool:
        val = conj()
        while peek() and peek().upper() == "OR":
            take()
            val = conj() or val
        return val

    result = disj()
    if pos != len(toks):
        raise LicenseError(f"malformed SPDX expression {expr!r}")
    return result
