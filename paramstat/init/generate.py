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


STD_FACTOR = 10.0          # forward output std within this factor of the architecture's own fresh init
M_BAND = (1e-2, 1e2)       # hidden M_j / M_0 (FM1) ...
M_REL = 10.0               # ... or M_j within this factor of the own init's M_j at the same point
FORWARD_BOUNDS = (f"output std in eval and in train mode within {STD_FACTOR:g}x of the architecture's own fresh "
                  f"init on the same batch, or within {STD_FACTOR:g}x of the input's std (length scale kept); every hidden M_j = ||act_j||^2/n_j (train mode) with M_j/M_0 in "
                  f"[{M_BAND[0]:g}, {M_BAND[1]:g}] or within {M_REL:g}x of the own init's M_j")


def forward_check(model, spec: str, *, num_classes: int | None = None, img_size: int | None = None,
                  check_size: int | None = None, x=None) -> dict:
    """The forward part of ``generate --check`` (bounds: FORWARD_BOUNDS) against a freshly built
    ``spec`` (its own init, same constructor seed) on the same batch; M_j from paramstat.lab.probe
    (Hanin & Rolnick 2018) on deep copies, so ``model``'s BatchNorm running stats stay untouched. ``x``: the
    batch (default: `example_input`, 8 N(0, 1) samples)."""
    import copy
    import math

    from ..lab.probe import probe

    ref = build_model(spec, num_classes=num_classes, img_size=img_size)
    if x is None:
        x = example_input(ref, spec, batch=8, size=check_size)
    ev, tr = forward_stds(model, x)
    x_std = float(x.double().std())
    rev, rtr = forward_stds(ref, x)

    def ratio(a, b):
        return a / b if b > 0 and math.isfinite(a) else (1.0 if a == b else math.inf)

    r_ev, r_tr = ratio(ev, rev), ratio(tr, rtr)
    std_ok = all(1 / STD_FACTOR <= r <= STD_FACTOR or 1 / STD_FACTOR <= v / x_std <= STD_FACTOR
                 for r, v in ((r_ev, ev), (r_tr, tr)))
    pm, pr = probe(copy.deepcopy(model), x), probe(copy.deepcopy(ref), x)
    layers, bad = [], []
    for lp, lr in zip(pm.layers[:-1], pr.layers[:-1]):
        rel0 = lp.M / pm.M0 if pm.M0 > 0 else math.nan
        rel_own = ratio(lp.M, lr.M)
        ok = bool(M_BAND[0] <= rel0 <= M_BAND[1] or 1 / M_REL <= rel_own <= M_REL)
        layers.append({"index": lp.index, "name": lp.name, "M": lp.M, "M_own": lr.M, "M_over_M0": rel0,
                       "M_over_own": rel_own, "ok": ok})
        if not ok:
            bad.append(lp.name)
    return {"input": list(x.shape), "input_std": x_std, "output_std_eval": ev, "output_std_train": tr, "own_std_eval": rev,
            "own_std_train": rtr, "ratio_eval": r_ev, "ratio_train": r_tr, "std_ok": bool(std_ok),
            "M_layers": layers, "M_failed": bad, "M_ok": not bad, "bounds": FORWARD_BOUNDS,
            "passed": bool(std_ok and not bad)}


def data_batch(data: str, model, spec: str, n: int = 32, seed: int = 0, size: int | None = None):
    """A batch for LSUV / native scale 'data': ``data`` = digits | mnist5k | shapeset (``n`` training images
    of paramstat.lab.datasets) or FILE.npy (an array (N, ...), loaded with allow_pickle=False). Images are
    fitted to the model's input: flattened for mlp specs (sizes must agree), grey channels repeated and
    resized (bilinear) to the model's input size (``size`` for convnets, see example_input)."""
    import numpy as np
    import torch

    from ..errors import ParamstatError

    if data in ("digits", "mnist5k", "shapeset"):
        from ..lab.datasets import load_dataset

        X, _ = load_dataset(data, "train", n=n, seed=seed)
    else:
        if not str(data).endswith(".npy"):
            raise ParamstatError(f"unknown --data {data!r}", hint="digits, mnist5k, shapeset or a FILE.npy")
        try:
            X = np.load(data, allow_pickle=False)
        except FileNotFoundError as err:
            raise ParamstatError("data file not found", path=str(data)) from err
        except ValueError as err:
            raise ParamstatError(f"not a plain numeric .npy array ({err})", path=str(data)) from err
        if X.dtype.kind not in "fiub" or X.ndim < 2:
            raise ParamstatError(f"data must be a numeric array (N, ...), got {X.dtype} {X.shape}", path=str(data))
    X = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
    want = tuple(example_input(model, spec, batch=1, size=size).shape[1:])
    if len(want) == 1:
        X = X.reshape(X.shape[0], -1)
        if X.shape[1] != want[0]:
            raise ParamstatError(f"data has {X.shape[1]} features per sample, {spec} takes {want[0]}",
                                 path=str(data) if str(data).endswith(".npy") else None)
    else:
        if X.ndim == 3:
            X = X[:, None]
        if X.ndim != 4 or X.shape[1] not in (1, want[0]):
            raise ParamstatError(f"data of shape {tuple(X.shape)} does not fit the input {want}",
                                 hint="give images (N, H, W), (N, 1, H, W) or (N, C, H, W)")
        if X.shape[1] != want[0]:
            X = X.expand(-1, want[0], -1, -1)
        if tuple(X.shape[2:]) != want[1:]:
            X = torch.nn.functional.interpolate(X, size=want[1:], mode="bilinear", align_corners=False)
        X = X.contiguous()
    return X


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
        from ..verdict import scan
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
