"""FM1 / FM2 probes (Hanin & Rolnick 2018) and Glorot & Bengio's activation / gradient statistics.

For one batch x_1..x_B and each probe point j (a layer's activation, in forward-call order; the last is
the logits) with n_j = elements per input (C*H*W for convs):

- ``M_j(x) = ||act_j(x)||^2 / n_j``; ``M`` = mean over the batch (FM1), ``M_var`` = variance over the
  batch (FM2), ``log_ratio_mean`` / ``log_ratio_std`` = mean / std over the batch of ``log(M_j(x) / M_0(x))`` with
  ``M_0(x) = ||x||^2 / n_0``, ``tiny_frac`` = share of inputs with ``M_j(x) < 0.01 M_0(x)``.
- ``act_mean``, ``act_std`` over all entries; ``sat_frac``: tanh / softsign |a| > 0.95, sigmoid a < 0.05 or
  a > 0.95 (Glorot & Bengio's saturation), ReLU-type a == 0 (inactive units); NaN for others.
- after backprop of the mean cross-entropy on the labels: ``grad_var`` = Var(dL/d act_j) over all entries
  and ``wgrad_var`` = Var(dL/dW) of the weight layer that feeds the point.
- ``beta = sum_j 1/n_j`` over the hidden points (all but the logits): Var(M_d) grows like exp(beta)
  (Hanin & Rolnick 2018, FM2).

The model runs in train mode (BatchNorm uses batch statistics, as at the first training step) with
in-place activations switched off so the hooks see every activation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .archs import find_probe_points

TINY = 0.01
_WEIGHT_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class LayerProbe:
    index: int
    name: str
    kind: str          # module type of the probe point
    width: int         # n_j
    M: float
    M_var: float
    log_ratio_mean: float
    log_ratio_std: float
    tiny_frac: float
    act_mean: float
    act_std: float
    sat_frac: float
    grad_var: float
    wgrad_var: float


@dataclass
class ProbeResult:
    beta: float
    M0: float
    batch: int
    layers: list[LayerProbe] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def M(self) -> np.ndarray:
        return np.array([lp.M for lp in self.layers])

    def to_dict(self) -> dict:
        return {**self.meta, "beta": self.beta, "M0": self.M0, "batch": self.batch,
                "layers": [asdict(lp) for lp in self.layers]}


def _saturation(mod: nn.Module, a: torch.Tensor) -> float:
    if isinstance(mod, (nn.Tanh, nn.Softsign, nn.Hardtanh)):
        return float((a.abs() > 0.95).float().mean())
    if isinstance(mod, nn.Sigmoid):
        return float(((a < 0.05) | (a > 0.95)).float().mean())
    if isinstance(mod, (nn.ReLU, nn.ReLU6)):
        return float((a == 0).float().mean())
    return math.nan


def probe(model: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None, *, points=None) -> ProbeResult:
    """Forward + backward one batch through ``model`` and measure every probe point (see module docstring).
    ``y``: int labels (random labels when None)."""
    points = list(points) if points is not None else find_probe_points(model)
    names = {id(m): n for n, m in model.named_modules()}
    for m in model.modules():
        if hasattr(m, "inplace") and isinstance(m.inplace, bool):
            m.inplace = False
    model.train()
    X = torch.as_tensor(X, dtype=torch.float32)
    B = X.shape[0]
    recs: list[dict] = []
    last_weight: list[nn.Module | None] = [None]
    point_ids = {id(m) for m in points}

    def weight_hook(mod, _inp, _out):
        last_weight[0] = mod

    def point_hook(mod, _inp, out):
        if not isinstance(out, torch.Tensor):
            return
        a = out.detach().reshape(B, -1) if out.shape[0] == B else out.detach().reshape(1, -1)
        rec = {"mod": mod, "a": a, "weight": mod if isinstance(mod, _WEIGHT_TYPES) else last_weight[0]}
        if out.requires_grad:
            out.register_hook(lambda g, rec=rec: rec.__setitem__("grad", g.detach()))
        recs.append(rec)

    handles = [m.register_forward_hook(point_hook) for m in model.modules() if id(m) in point_ids]
    handles += [m.register_forward_hook(weight_hook) for m in model.modules() if isinstance(m, _WEIGHT_TYPES)]
    try:
        model.zero_grad(set_to_none=True)
        logits = model(X)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        if y is None:
            g = stream_generator(0, LABEL_STREAM)
            y = torch.randint(0, logits.shape[-1], (B,), generator=g)
        loss = nn.functional.cross_entropy(logits.reshape(B, -1), torch.as_tensor(y, dtype=torch.long))
        loss.backward()
    finally:
        for h in handles:
            h.remove()

    x64 = X.reshape(B, -1).double()
    m0 = (x64 ** 2).mean(dim=1)
    layers = []
    hidden_widths = []
    for i, rec in enumerate(recs):
        a = rec["a"].double()
        width = a.shape[1]
        Mx = (a ** 2).mean(dim=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (Mx / m0).numpy() if a.shape[0] == B else np.array([math.nan])
            logr = np.log(ratio)
        finite = logr[np.isfinite(logr)]
        grad = rec.get("grad")
        w = rec["weight"]
        wg = getattr(getattr(w, "weight", None), "grad", None) if w is not None else None
        layers.append(LayerProbe(
            index=i, name=names.get(id(rec["mod"]), "?"), kind=type(rec["mod"]).__name__, width=int(width),
            M=float(Mx.mean()), M_var=float(Mx.var(unbiased=False)) if Mx.numel() > 1 else 0.0,
            log_ratio_mean=float(finite.mean()) if finite.size else math.nan,
            log_ratio_std=float(finite.std()) if finite.size > 1 else math.nan,
            tiny_frac=float(np.mean(ratio < TINY)),
            act_mean=float(a.mean()), act_std=float(a.std(unbiased=False)),
            sat_frac=_saturation(rec["mod"], rec["a"]),
            grad_var=float(grad.double().var(unbiased=False)) if grad is not None else math.nan,
            wgrad_var=float(wg.double().var(unbiased=False)) if wg is not None else math.nan,
        ))
        if i < len(recs) - 1:
            hidden_widths.append(width)
    beta = float(sum(1.0 / n for n in hidden_widths))
    return ProbeResult(beta=beta, M0=float(m0.mean()), batch=int(B), layers=layers)


INPUT_STREAM = 1   # spawn key of the input batch's stream
LABEL_STREAM = 2   # spawn key of the random labels' stream


def stream_generator(seed: int, stream: int) -> torch.Generator:
    """A torch.Generator for stream ``stream`` of ``seed``, seeded from numpy's SeedSequence([seed, stream]).
    The inits seed their generators with ``seed`` itself (torch.Generator().manual_seed(seed), and build_model
    seeds the global RNG with it), so an input batch drawn from ``manual_seed(seed)`` would repeat the first
    weight matrix's draws (correlation 0.996 with He normal): every data stream gets its own key."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def random_batch(in_shape: tuple[int, ...], batch: int, seed: int = 0) -> torch.Tensor:
    """Standard normal inputs (B, *in_shape) from the input stream of ``seed`` (independent of every weight
    init seeded with ``seed``; see stream_generator)."""
    return torch.randn((batch, *in_shape), generator=stream_generator(seed, INPUT_STREAM))


def probe_spec(model: str, *, init: str = "default", act: str = "relu", data: str = "random", batch: int = 64,
               seed: int = 0, profile=None, in_shape: tuple[int, ...] | None = None) -> ProbeResult:
    """Build ``model`` (built-in spec or timm name), initialise it with ``init`` and probe one batch.

    ``data='random'``: standard normal inputs of ``in_shape`` (default: W inputs for ``mlp:DxW``, n0 for
    ``mlp:n0,...``, (1, 32, 32) for cnn / resnet, the timm model's default input size) and random labels;
    otherwise ``batch`` training images of that data set (seeded subset) and their labels."""
    from .archs import build_model, default_input_shape, is_builtin, mlp_widths
    from .datasets import N_CLASSES, load_dataset
    from .inits import init_model

    if data == "random":
        n_classes = 10
        if in_shape is None and model.startswith("mlp"):
            widths = mlp_widths(model, None, n_classes)
            in_shape = (widths[0],)
            n_classes = widths[-1]
        elif in_shape is None and is_builtin(model):
            in_shape = (1, 32, 32)
        net = build_model(model, in_shape, n_classes, act, seed=seed)
        if in_shape is None:
            in_shape = default_input_shape(net)
        X = random_batch(tuple(in_shape), batch, seed=seed)
        y = torch.randint(0, n_classes, (batch,), generator=stream_generator(seed, LABEL_STREAM))
    else:
        Xn, yn = load_dataset(data, "train", n=batch, seed=seed, flatten=model.startswith("mlp"))
        X, y = torch.from_numpy(Xn), torch.from_numpy(yn)
        net = build_model(model, tuple(X.shape[1:]), N_CLASSES[data], act, seed=seed)
    init_model(net, init, seed=seed, data=X, profile=profile)
    res = probe(net, X, y)
    res.meta = {"model": model, "init": init, "act": act if is_builtin(model) else None, "data": data,
                "seed": seed, "input_shape": list(X.shape[1:]), "profile": None if profile is None else str(profile)}
    return res
