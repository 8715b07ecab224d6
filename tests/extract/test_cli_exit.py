"""irpipe extract's exit status: invalid recipes stop it before Ray starts, failed packages exit 1,
--keep-going exits 0 with warnings; failures are in failures.parquet either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from irpipe.cli.extract import EXIT_BAD_RECIPES, EXIT_FAILED, EXIT_OK, report
from irpipe.errors import RecipeError
from irpipe.extract.recipes import collect_recipes, parse_recipe
from irpipe.testing.factories import c_tree, recipe
from irpipe.testing.gates import requires_llvm, requires_root
from irpipe.testing.jobs import extract

GOOD = '[package]\nname = "x"\nversion = "1"\n[source]\nkind = "pypi"\n'
#: Runs the CLI in a fresh interpreter and reports whether it imported ray (it must not, here).
DRIVER = ("import sys; from irpipe.cli.main import main; rc = main(sys.argv[1:]); "
          "print('ray imported' if 'ray' in sys.modules else 'no ray'); sys.exit(rc)")


def _extract(tmp_path: Path, *recipes: Path | str, keep_going: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", DRIVER, "extract", "--recipes", *map(str, recipes),
            "--out", str(tmp_path / "out"), "--no-progress", *(["--keep-going"] if keep_going else [])]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


BAD_RECIPES = {
    "typo": (GOOD + '[build]\ntimout = 5\n', r"unknown key 'timout' in \[build\] \(did you mean 'timeout'\?\)"),
    "table-typo": (GOOD + '[biuld]\nkind = "make"\n', r"unknown table \[biuld\] \(did you mean 'build'\?\)"),
    "empty": ("", "empty recipe; a recipe needs at least"),
    "blank": ("\n \n\t\n", "empty recipe"),
    "binary": ("\x00\x01\x02ELF", r"binary data, not TOML text \(a NUL byte at offset 0\)"),
    "not-toml": ("this is not toml\n", "not valid TOML: "),
    "wrong-type": (GOOD + '[build]\nargs = "--enable-foo"\n', r"\[build\] args = '--enable-foo': want a list of strings"),
    "bad-timeout": (GOOD + '[build]\ntimeout = true\n', "want a positive number"),
    "no-source": ('[package]\nname = "x"\nversion = "1"\n[source]\nkind = "local"\npath = "../nowhere"\n',
                  r"\[source\] path '../nowhere': no such file or directory"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECIPES))
def test_invalid_recipe_is_one_error_line(tmp_path: Path, case: str) -> None:
    text, pattern = BAD_RECIPES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=pattern) as err:
        parse_recipe(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(path))


def test_undecodable_recipe(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[package]\nname = "\xff"\n')
    with pytest.raises(RecipeError, match=r"binary data, not TOML text \(not UTF-8 at byte 18\)"):
        parse_recipe(path)


def test_cli_reports_every_invalid_recipe_and_exits_2_without_ray(tmp_path: Path) -> None:
    r = tmp_path / "recipes"
    r.mkdir()
    for case, (text, _) in BAD_RECIPES.items():
        (r / f"{case}.toml").write_text(text)
    (r / "ok.toml").write_text(GOOD)
    proc = _extract(tmp_path, r)
    assert proc.returncode == EXIT_BAD_RECIPES, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == len(BAD_RECIPES) + 1 and "Traceback" not in proc.stderr
    for case in BAD_RECIPES:
        assert sum(ln.startswith(f"irpipe extract: error: {r / case}.toml: ") for ln in lines) == 1
    assert lines[-1] == (f"irpipe extract: error: {len(BAD_RECIPES)} of {len(BAD_RECIPES) + 1} recipes invalid; "
                         "nothing extracted (fix them, or pass --keep-going to extract the valid ones)")
    assert proc.stdout.strip() == "no ray" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("layout", ["empty", "other-files"])
def test_directory_without_recipes_is_an_error(tmp_path: Path, layout: str) -> None:
    d = tmp_path / "recipes"
    (d / "sub").mkdir(parents=True)
    if layout == "other-files":
        (d / "sub" / "notes.txt").write_text("tinyc.toml\n")
    for keep_going in (False, True):
        proc = _extract(tmp_path, d, keep_going=keep_going)
        assert proc.returncode == EXIT_BAD_RECIPES
        assert proc.stderr == f"irpipe extract: error: {d}: no recipes (*.toml) in this directory or below\n"
        assert proc.stdout.strip() == "no ray"


def test_keep_going_with_no_valid_recipe_still_has_nothing_to_do(tmp_path: Path) -> None:
    (tmp_path / "typo.toml").write_text(BAD_RECIPES["typo"][0])
    proc = _extract(tmp_path, tmp_path / "typo.toml", keep_going=True)
    assert proc.returncode == EXIT_BAD_RECIPES and proc.stdout.strip() == "no ray"
    assert proc.stderr.splitlines()[0].startswith(f"irpipe extract: warning: {tmp_path / 'typo.toml'}: unknown key")
    assert proc.stderr.splitlines()[1] == "irpipe extract: error: none of the 1 recipes is valid; nothing to extract"


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "same.toml").write_text(GOOD)
    recipes, bad = collect_recipes([tmp_path / "a", tmp_path / "b"])
    assert [r.id for r in recipes] == ["same"]
    assert bad == [("same", f"{tmp_path / 'b' / 'same.toml'}: duplicate recipe id same "
                            f"(also {tmp_path / 'a' / 'same.toml'})")]


def _manifest(*packages: tuple[str, str, str | None, str | None], not_finished: tuple[str, ...] = ()) -> dict:
    return {"packages": [{"recipe_id": rid, "status": status, "stage": stage, "error": error}
                         for rid, status, stage, error in packages],
            "not_finished": list(not_finished), "totals": {"packages": len(packages) + len(not_finished)}}


def test_report_exit_status_and_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = ("good", "ok", None, None)
    gpl = ("gpl", "excluded", "license", "license GPL-3.0-only not allowed")
    broken = ("broken", "failed", "build", "make: exited 2: x.c:1: error: expected ';'")
    assert report(_manifest(ok, gpl), tmp_path, keep_going=False) == EXIT_OK
    assert capsys.readouterr().err == ("irpipe extract: warning: gpl: excluded: [license] "
                                       "license GPL-3.0-only not allowed\n")
    assert report(_manifest(ok, broken, not_finished=("lost",)), tmp_path, keep_going=False) == EXIT_FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "irpipe extract: error: broken: [build] make: exited 2: x.c:1: error: expected ';'"
    assert err[1].startswith("irpipe extract: error: lost: [worker] not finished")
    assert err[2].startswith("irpipe extract: error: 2 of 3 packages failed (recorded in ")
    assert err[2].endswith("; pass --keep-going to exit 0 with failures")
    assert report(_manifest(ok, broken), tmp_path, keep_going=True) == EXIT_OK
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("irpipe extract: warning: broken: [build] ") and "--keep-going" not in err[-1]


@requires_llvm
@requires_root
def test_failed_package_exits_1_with_its_reason(tmp_path: Path) -> None:
    """The one Ray run here: a package whose build fails (a C syntax error) next to one that builds."""
    r = tmp_path / "recipes"
    c_tree(tmp_path / "good", {"a.c": "int a(int x) { return x + 1; }\n"})
    recipe(r / "good.toml", "good", src="../good")
    c_tree(tmp_path / "broken", {"x.c": "int x( {\n"})
    recipe(r / "broken.toml", "broken", src="../broken")
    proc = extract(r, tmp_path / "out")
    assert proc.returncode == EXIT_FAILED, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("irpipe extract: error: ")]
    assert len(errors) == 2 and errors[0].startswith("irpipe extract: error: broken: [build] ")
    assert errors[1].startswith("irpipe extract: error: 1 of 2 packages failed (recorded in ")
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["packages_ok"] == 1  # the good one is extracted all the same
    fails = pq.read_table(tmp_path / "out" / "failures.parquet").to_pylist()
    assert [(f["recipe_id"], f["stage"]) for f in fails] == [("broken", "build")]
