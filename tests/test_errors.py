"""irpipe has one exception tree, in irpipe/errors.py.

The walk reads every module's source with :mod:`ast` (importing them would pull in torch and
ray): a class whose bases name an exception (a builtin one or one of irpipe.errors) is an
exception class, and it must be defined in irpipe/errors.py.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import pytest

import irpipe
from irpipe import errors

PACKAGE = Path(irpipe.__file__).parent
ERRORS = {name for name, obj in vars(builtins).items()
          if isinstance(obj, type) and issubclass(obj, BaseException)}
ERRORS |= {name for name, obj in vars(errors).items()
           if isinstance(obj, type) and issubclass(obj, BaseException)}


def _base_name(node: ast.expr) -> str:
    """``X`` of a base written ``X`` or ``module.X``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def exception_classes(path: Path) -> list[str]:
    """``name:line`` of each class in ``path`` that derives from an exception, directly or through
    another exception class of the same file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    known, found = set(ERRORS), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(_base_name(b) in known for b in node.bases):
            known.add(node.name)
            found.append(f"{node.name}:{node.lineno}")
    return found


def test_errors_module_is_one_tree() -> None:
    for name, cls in vars(errors).items():
        if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__:
            assert issubclass(cls, errors.IrpipeError), name


def test_no_exception_class_outside_errors_py() -> None:
    stray = {str(p.relative_to(PACKAGE)): found for p in sorted(PACKAGE.rglob("*.py"))
             if p.name != "errors.py" or p.parent != PACKAGE
             for found in [exception_classes(p)] if found}
    assert stray == {}


@pytest.mark.parametrize("module, name", [
    ("irpipe.label.measure", "EvaluationError"), ("irpipe.label.runtime", "Miscompile"),
    ("irpipe.optimize.protocol", "ServeError"), ("irpipe.bench.suite", "SuiteError"),
    ("irpipe.bench.run", "RunFailed"), ("irpipe.bench.build", "BuildFailed"),
    ("irpipe.llvm.mlgo", "ProtocolError")])
def test_old_names_still_import(module: str, name: str) -> None:
    import importlib

    assert issubclass(getattr(importlib.import_module(module), name), errors.IrpipeError)
