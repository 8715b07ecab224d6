"""``irpipe train``: build examples, then fit in this process or with Ray Train (DDP).

With ``train.workers = 1`` the loop runs here, no Ray.  With more, a Ray Train
``TorchTrainer`` runs :func:`irpipe.train.phase_order.fit` on that many workers, each a
DDP rank (gloo on CPU, NCCL when GPUs are used); the examples are built once
by the driver and shared through the object store.  A private local Ray by
default, or the cluster at ``address`` (see :mod:`irpipe.runtime.cluster`) whose nodes see ``out``.
A GPU is used when ``train.use_gpu`` says so, or (unset) when CUDA is present.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from irpipe.train.config import Config, from_dict


def _device(use_gpu: bool) -> str:
    import torch

    return "cuda" if use_gpu and torch.cuda.is_available() else "cpu"


def _worker_loop(config: dict[str, Any]) -> None:
    """Ray Train worker body: one DDP rank of :func:`irpipe.train.phase_order.fit`."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import ray
    import ray.train
    import ray.train.torch

    from irpipe.train.phase_order import fit

    cfg = from_dict(config["cfg"])
    examples, encoders, pset = ray.get(config["data"][0])
    ctx = ray.train.get_context()
    device = str(ray.train.torch.get_device()) if config["use_gpu"] else "cpu"
    fit(cfg, examples, encoders, pset, Path(config["out"]), rank=ctx.get_world_rank(),
        world=ctx.get_world_size(), resume=config["resume"], progress=config["progress"],
        device=device)


def run_train(cfg: Config, out: str | Path, *, resume: bool = False, progress: bool = True,
              address: str | None = None) -> dict[str, Any]:
    """Train ``cfg`` into ``out`` (a checkpoint directory); return the best epoch's metrics."""
    import torch

    from irpipe.train.data import build_examples
    from irpipe.train.phase_order import fit

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(cfg.train.threads)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.resolved.json").write_text(json.dumps(cfg.to_dict(), indent=1) + "\n")
    examples, encoders, pset = build_examples(cfg.data, cfg.model.arch, progress=progress)
    counts = {s: sum(e.split == s for e in examples) for s in ("train", "val", "test")}
    print(json.dumps({"examples": counts, "candidates": len(pset.pipelines)}), flush=True)
    use_gpu = cfg.train.use_gpu if cfg.train.use_gpu is not None else torch.cuda.is_available()
    if cfg.train.workers <= 1:
        fit(cfg, examples, encoders, pset, out, resume=resume, progress=progress,
            device=_device(use_gpu))
    else:
        _fit_ray(cfg, (examples, encoders, pset), out, resume, progress, use_gpu, address)
    from irpipe.train.checkpoint import read_meta
    from irpipe.train.plots import plot_run

    plot_run(out, cfg, examples, encoders, pset, device=_device(use_gpu))
    return read_meta(out)["metrics"]


def _fit_ray(cfg: Config, data: tuple, out: Path, resume: bool, progress: bool, use_gpu: bool,
             address: str | None) -> None:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from irpipe.runtime.cluster import init_ray

    init_ray(address, None if address else cfg.train.workers, object_store_mb=1024, log_to_driver=True)
    ref = ray.put(data)
    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config={"cfg": cfg.to_dict(), "data": [ref], "out": str(out), "resume": resume,
                           "progress": progress, "use_gpu": use_gpu},
        scaling_config=ScalingConfig(num_workers=cfg.train.workers, use_gpu=use_gpu,
                                     resources_per_worker={"CPU": cfg.train.threads}),
        run_config=RunConfig(name="train", storage_path=str(out / "ray")),
    )
    trainer.fit()
