"""Config: TOML + --set overrides, unknown keys refused with the known ones named."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.errors import ConfigError
from irpipe.train.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_model_configs_load() -> None:
    for name in ("default", "tiny", "default-transformer"):
        cfg = load_config(ROOT / "models" / name / "config.toml")
        assert cfg.name == name


def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('name = "x"\n[model]\narch = "gnn"\n')
    cfg = load_config(path, ["model.arch=transformer", "train.lr=1e-4", "train.epochs=3",
                             "data.max_modules=7", "seed=5"])
    assert (cfg.model.arch, cfg.train.lr, cfg.train.epochs, cfg.data.max_modules, cfg.seed) == \
        ("transformer", 1e-4, 3, 7, 5)


@pytest.mark.parametrize("text, overrides, message", [
    ('[model]\nhidden_size = 3\n', [], "unknown key.*hidden_size.*known: .*hidden"),
    ('[model]\narch = "rnn"\n', [], "arch 'rnn'"),
    ('[model\n', [], "not valid TOML"),
    ('', ["train.epochs"], "expected key=value"),
    ('color = 1\n', [], "unknown top-level"),
])
def test_bad_configs(tmp_path: Path, text: str, overrides: list[str], message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, overrides)


def test_missing_config() -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config("/nonexistent/config.toml")


def test_flat_overrides_read_booleans_as_toml_does() -> None:
    from dataclasses import dataclass

    from irpipe.train.config import load_flat

    @dataclass(frozen=True)
    class Flat:
        select: bool = True
        lr: float = 1e-3

    assert load_flat(Flat, None, ["select=false", "lr=0.5"]) == Flat(select=False, lr=0.5)
    assert load_flat(Flat, None, ["select=True"]).select is True
    with pytest.raises(ConfigError, match="want true or false"):
        load_flat(Flat, None, ["select=0"])
