"""irpipe.extract.licenses: detection and SPDX allow-list evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import LicenseError
from irpipe.extract.licenses import debian_to_spdx, from_cargo, from_debian, from_pypi, is_allowed


@pytest.mark.parametrize(
    ("debian", "spdx"),
    [("Expat", "MIT"), ("GPL-2+", "GPL-2.0-or-later"), ("BSD-3-clause or GPL-2", "BSD-3-Clause OR GPL-2.0-only"),
     ("LGPL-2.1", "LGPL-2.1-only"), ("zlib", "Zlib"), ("public-domain", "LicenseRef-public-domain")],
)
def test_debian_names(debian: str, spdx: str) -> None:
    assert debian_to_spdx(debian) == spdx


@pytest.mark.parametrize(
    ("expr", "ok"),
    [("MIT", True), ("GPL-3.0-only", False), ("MIT OR GPL-2.0-only", True), ("MIT AND GPL-2.0-only", False),
     ("(MIT OR Apache-2.0) AND BSD-3-Clause", True), ("Apache-2.0 WITH LLVM-exception", True),
     ("LicenseRef-unknown", False)],
)
def test_allow_list(expr: str, ok: bool) -> None:
    assert is_allowed(expr) is ok


def test_malformed_expression() -> None:
    with pytest.raises(LicenseError, match="malformed"):
        is_allowed("(MIT OR")


def test_sources(tmp_path: Path) -> None:
    deb = tmp_path / "deb"
    (deb / "debian").mkdir(parents=True)
    (deb / "debian" / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 X\nLicense: Expat\n\nFiles: debian/*\nLicense: GPL-2+\n")
    assert from_debian(deb).expression == "MIT"
    py = tmp_path / "py"
    py.mkdir()
    (py / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: x\nClassifier: License :: OSI Approved :: MIT License\n")
    (py / "LICENSE.txt").write_text("MIT text")
    lic = from_pypi(py)
    assert (lic.expression, lic.source) == ("MIT", "pypi-metadata") and "MIT text" in lic.files
    crate = tmp_path / "crate"
    crate.mkdir()
    (crate / "Cargo.toml").write_text('[package]\nname = "c"\nlicense = "Unlicense/MIT"\n')
    assert from_cargo(crate).expression == "Unlicense OR MIT"


def test_wheel_license_files_under_dist_info_licenses(tmp_path: Path) -> None:
    info = tmp_path / "x-1.0.dist-info"
    (info / "licenses").mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: x\nLicense: Apache 2.0\n")
    (info / "licenses" / "LICENSE").write_text("Apache text")
    lic = from_pypi(tmp_path)
    assert lic.expression == "Apache-2.0" and "Apache text" in lic.files
