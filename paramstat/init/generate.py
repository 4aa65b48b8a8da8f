"""Library side of `paramstat generate`: build a model, initialise it, save it, check it.

Model specs: a timm name (built with pretrained=False, so with the architecture's own init first),
or 'mlp:784,256,10' (nn.Sequential of Linear layers with ReLU between them; keys '0.weight', ...).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


def build_model(spec: str, num_classes: int | None = None, img_size: int | None = None):
    """nn.Module from a spec (see module doc); ParamstatError if unknown."""
    import torch
    from torch import nn

    from ..errors import ParamstatError

    torch.manual_seed(0)
    if spec.startswith("mlp:"):
        try:
            dims = [int(x) for x in spec[4:].split(",") if x.strip()]
        except ValueError as err:
            raise ParamstatError(f"bad MLP spec {spec!r}", hint="write e.g. mlp:784,256,10") from err
        if len(dims) < 2 or min(dims) < 1:
            raise ParamstatError(f"bad MLP spec {spec!r}", hint="at least two positive widths: mlp:784,256,10")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    import timm

    if not timm.is_model(spec):
        close = timm.list_models(f"*{spec.split('.')[0][:12]}*")[:5]
        raise ParamstatError(f"unknown model {spec!r}",
                             hint=("did you mean " + ", ".join(close)) if close else
                             "give a timm model name or mlp:784,256,10")
    kw = {}
    if num_classes is not None:
        kw["num_classes"] = num_classes
    if img_size is not None:
        kw["img_size"] = img_size
    return timm.create_model(spec, pretrained=False, **kw)


def example_input(model, spec: str, batch: int = 2, size: int | None = None):
    """A random input batch of the model's expected shape (for the forward checks), from its own seed
    stream (numpy SeedSequence([0, 1])): a generator seeded 0 would repeat a seed-0 init's first draws."""
    import numpy as np
    import torch

    st = np.random.SeedSequence([0, 1]).generate_state(2, dtype=np.uint32)
    g = torch.Generator().manual_seed(int(st[0]) << 32 | int(st[1]))
    if spec.startswith("mlp:"):
        return torch.randn(batch, int(spec[4:].split(",")[0]), generator=g)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", {}) or {}
    shape = tuple(cfg.get("input_size", (3, 224, 224)))
    ps = getattr(getattr(model, "patch_embed", None), "img_size", None)
    if ps is not None:
        shape = (shape[0],) + tuple(ps)
    elif size is not None:             # convnets take any size; ViTs keep their patch grid
        shape = (shape[0], size, size)
    return torch.randn(batch, *shape, generator=g)


def forward_stds(model, x) -> tuple[float, float]:
    """(eval-mode, train-mode) std of ``model(x)``'s output (train mode on a deep copy, so BatchNorm
    running statistics of ``model`` stay as they are). Non-finite outputs give inf."""
    import copy

    import torch

    out = []
    with torch.no_grad():
        for mode in ("eval", "train"):
            m = copy.deepcopy(model) if mode == "train" else model
            was = m.training
            m.train(mode == "train")
            y = m(x)
            y = y[0] if isinstance(y, (tuple, list)) else y
            m.train(was)
            y = y.double()
            out.append(float(y.std()) if bool(torch.isfinite(y).all()) else float("inf"))
    return out[0], out[1]


@dataclass
class Generated:
    spec: str
    scheme: str
    seed: int
    n_params: int
    seconds: float
    report: dict                     # apply_init's report
    unmatched: list[str] = field(default_factory=list)
    forward_finite: bool | None = None
    output_std: float | None = None         # eval mode (BatchNorm uses its fresh running stats 0/1)
    output_std_train: float | None = None   # train mode on a copy (BatchNorm batch statistics)


def generate(spec: str, profile=None, seed: int = 0, scheme: str = "native", forward: bool = True,
             num_classes: int | None = None, img_size: int | None = None, data=None,
             keep_constants: bool = True, scale: str | None = None, check_size: int | None = None,
             qk_rho: float | None = None):
    """(module, Generated): build ``spec`` and initialise it with ``scheme`` (native uses ``profile``;
    lsuv and native ``scale='data'`` use ``data``, a batch); ``forward``: output std in eval and train mode
    on `example_input` (``check_size``: its image size for convnets)."""
    from . import apply_init

    t0 = time.perf_counter()
    model = build_model(spec, num_classes=num_classes, img_size=img_size)
    kw = {"scale": scale} if scale is not None and scheme == "native" else {}
    if qk_rho is not None and scheme == "native":
        kw["qk_rho"] = qk_rho
    if scheme == "native" and data is None and spec.startswith("mlp:"):
        kw["calibration_batch"] = example_input(model, spec, batch=8)
    rep = apply_init(model, scheme, seed=seed, profile=profile, data=data, keep_constants=keep_constants, **kw)
    g = Generated(spec, scheme, seed, int(sum(p.numel() for p in model.parameters())),
                  0.0, rep, unmatched=list(rep.get("native", {}).get("unmatched", [])))
    if forward:
        import math

        x = example_input(model, spec, batch=8, size=check_size)
        g.output_std, g.output_std_train = forward_stds(model, x)
        g.forward_finite = math.isfinite(g.output_std) and math.isfinite(g.output_std_train)
    g.seconds = time.perf_counter() - t0
    return model, g


def save_safetensors(model, path: str, force: bool = False, metadata: dict | None = None) -> None:
    """model.state_dict() (parameters and buffers, loadable with strict=True) to ``path`` atomically.
    Metadata goes in one key, 'paramstat' (a JSON string): safetensors writes a multi-key metadata map
    in hash order, which would make equal inits differ byte-wise."""
    import json

    from safetensors.torch import save_file

    from ..atomic import atomic_path

    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path, force) as tmp:
        save_file(sd, str(tmp), metadata={"paramstat": json.dumps(metadata or {}, sort_keys=True, default=str)})
