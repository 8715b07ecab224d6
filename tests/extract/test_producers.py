"""irpipe.extract.producers: one producer per build kind, registered, never two for one kind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from irpipe.errors import BuildError
from irpipe.extract import producers
from irpipe.extract.producers import PRODUCERS, Build, ExtractOptions, LlvmModules, produce, producer
from irpipe.extract.recipes import BUILD_KINDS, Recipe
from irpipe.extract.sandbox import Limits


def test_every_build_kind_has_a_producer() -> None:
    assert sorted(PRODUCERS) == sorted(BUILD_KINDS)
    assert PRODUCERS["make"] is producers.native and PRODUCERS["jax"] is producers.jax


def test_a_kind_gets_one_producer_and_an_unknown_kind_is_a_build_failure(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producers, "PRODUCERS", dict(PRODUCERS))
    with pytest.raises(ValueError, match="'make' already has a producer"):
        producer("make")(lambda b: LlvmModules([]))
    producer("toy")(lambda b: LlvmModules([], language="toy"))
    recipe = Recipe(id="t", name="t", version="1", source_kind="local", build_kind="toy")
    b = Build(recipe, tmp_path, tmp_path, tmp_path / "log", Limits(deadline=0.0), ExtractOptions(str(tmp_path)),
              tools=None, iree=lambda: None)  # type: ignore[arg-type]
    assert produce(b).language == "toy"
    with pytest.raises(BuildError, match="no producer for build kind 'nope'"):
        produce(dataclasses.replace(b, recipe=dataclasses.replace(recipe, build_kind="nope")))
