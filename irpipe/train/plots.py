"""PNG plots of a training run: loss curves and predicted vs measured cost (val split)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_losses(history: Sequence[dict[str, Any]], path: Path) -> Path:
    """Train and val loss per epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], label="train")
    if any("val_loss" in h for h in history):
        ax.plot(epochs, [h.get("val_loss", np.nan) for h in history], label="val")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_predictions(pred: np.ndarray, true: np.ndarray, base: np.ndarray, names: Sequence[str],
                     path: Path, title: str = "") -> Path:
    """Predicted vs measured metric, one panel per objective (log-log, y = x line).

    ``pred``/``true``: [N, K, O] log(metric / input instructions); ``base``: [N] input instructions.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.5))
    for o, (ax, name) in enumerate(zip(np.atleast_1d(axes), names)):
        ok = np.isfinite(true[:, :, o])
        scale = base[:, None].repeat(true.shape[1], 1)
        t = (np.exp(true[:, :, o]) * scale)[ok]
        p = (np.exp(pred[:, :, o]) * scale)[ok]
        ax.scatter(t, p, s=4, alpha=0.3)
        if t.size:
            lo, hi = max(min(t.min(), p.min()), 1), max(t.max(), p.max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(f"measured {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"{title} {name}".strip())
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_run(out: Path, cfg: Any, examples: Sequence[Any], encoders: Any, pset: Any,
             device: str = "cpu") -> list[Path]:
    """Write ``plots/loss.png`` and ``plots/pred_vs_measured.png`` for the checkpoint in ``out``."""
    from irpipe.data.examples import OBJECTIVES
    from irpipe.train.checkpoint import load_weights
    from irpipe.train.data import example_items
    from irpipe.train.phase_order import build_model, predict

    out = Path(out)
    (out / "plots").mkdir(exist_ok=True)
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]
    paths = [plot_losses(history, out / "plots" / "loss.png")]
    val = [e for e in examples if e.split == "val"] or [e for e in examples if e.split == "train"]
    model = build_model(cfg, encoders, pset)
    load_weights(out, model)
    cost, _ = predict(model.to(device), example_items(val), device=device)
    true = np.stack([e.target.numpy() for e in val])
    base = np.array([e.input_instructions for e in val], dtype=np.float64)
    paths.append(plot_predictions(cost, true, base, [o for o, _ in OBJECTIVES],
                                  out / "plots" / "pred_vs_measured.png",
                                  title=f"{cfg.model.arch} (val)"))
    return paths
