"""Library side of `paramstat generate`: build a model, initialise it, save it, check it.

Model specs: a timm name (built with pretrained=False, so with the architecture's own init first),
or 'mlp:784,256,10' (nn.Sequential of Linear layers with ReLU between them; keys '0.weight', ...).
"""
from __future__ import annotations

import re
import time
from collections import Counter
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


def example_input(model, spec: str, batch: int = 2):
    """A random input batch of the model's expected shape (for the forward checks), from its own seed
    stream (numpy SeedSequence([0, 1])): a generator seeded 0 would repeat a seed-0 init's first draws."""
    import numpy as np
    import torch

    st = np.random.SeedSequence([0, 1]).generate_state(2, dtype=np.uint32)
    g = torch.Generator().manual_seed(int(st[0]) << 32 | int(st[1]))
    if spec.startswith("mlp:"):
        return torch.randn(batch, int(spec[4:].split(",")[0]), generator=g)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", {}) or {}
    size = tuple(cfg.get("input_size", (3, 224, 224)))
    ps = getattr(getattr(model, "patch_embed", None), "img_size", None)
    if ps is not None:
        size = (size[0],) + tuple(ps)
    return torch.randn(batch, *size, generator=g)


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
             num_classes: int | None = None, img_size: int | None = None):
    """(module, Generated): build ``spec`` and initialise it with ``scheme`` (native uses ``profile``)."""
    import torch

    from . import apply_init

    t0 = time.perf_counter()
    model = build_model(spec, num_classes=num_classes, img_size=img_size)
    rep = apply_init(model, scheme, seed=seed, profile=profile)
    g = Generated(spec, scheme, seed, int(sum(p.numel() for p in model.parameters())),
                  0.0, rep, unmatched=list(rep.get("native", {}).get("unmatched", [])))
    if forward:
        import copy

        x = example_input(model, spec)
        model.eval()
        with torch.no_grad():
            y = model(x)
            y = y[0] if isinstance(y, (tuple, list)) else y
            g.forward_finite = bool(torch.isfinite(y).all())
            g.output_std = float(y.float().std())
            twin = copy.deepcopy(model).train()
            y2 = twin(x)
            y2 = y2[0] if isinstance(y2, (tuple, list)) else y2
            g.forward_finite &= bool(torch.isfinite(y2).all())
            g.output_std_train = float(y2.float().std())
            del twin
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


def scan_summary(model) -> dict:
    """Run paramstat.scan on the generated module: verdict, score, counts and the most frequent
    evidence lines (why). {'available': False} if the scan engine cannot be imported."""
    try:
        from ..scan import scan
    except Exception as err:  # noqa: BLE001 - scan is another module, maybe mid-edit
        return {"available": False, "error": f"scan unavailable ({type(err).__name__}: {err})"}
    try:
        res = scan(model, progress=False)
    except Exception as err:  # noqa: BLE001
        return {"available": False, "error": f"scan failed ({type(err).__name__}: {err})"}
    by_role: dict[str, Counter] = {}
    why: dict[str, dict[str, list[str]]] = {}
    for t in res.tensors:
        by_role.setdefault(t.role, Counter())[t.verdict] += 1
        ev = getattr(t, "evidence", None) or []
        if ev and t.verdict in ("trained", "untrained"):
            text = ev[0].text
            why.setdefault(t.role, {}).setdefault(f"{t.verdict}: {_NUM.sub('#', text)}", []).append(
                f"{t.verdict}: {text}")
    return {"available": True, "verdict": res.verdict, "score": res.score, "counts": res.counts(),
            "by_role": {r: dict(c) for r, c in by_role.items()},
            "untrained": list(res.untrained)[:10],
            "why": {r: [f"{len(v)}x {_merge(v)}" for v in sorted(g.values(), key=len, reverse=True)[:2]]
                    for r, g in why.items()}}


_NUM = re.compile(r"[-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?")


def _merge(texts: list[str]) -> str:
    """Evidence texts that differ only in their numbers (grouped on the text with numbers masked) as one
    line: each number as written when the group agrees on it, else its range 'min..max'."""
    slots = [_NUM.findall(t) for t in texts]
    parts = _NUM.split(texts[0])
    out = [parts[0]]
    for i, rest in enumerate(parts[1:]):
        vals = [s[i] for s in slots]
        if len(set(vals)) == 1:
            out.append(vals[0])
        else:
            nums = sorted(vals, key=lambda v: float(v.replace(",", "")))
            out.append(f"{nums[0]}..{nums[-1]}")
        out.append(rest)
    return "".join(out)
