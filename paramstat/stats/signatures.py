"""Distance of a tensor to every known initializer (BRIEF §3), with the scale fixed by the init's
formula (never fitted), so a trained tensor that kept its marginal shape but changed scale is far.

Fans (stats.shapes) follow torch's ``_calculate_fan_in_and_fan_out`` from the shape (out, in/groups, *k):
fan_in = in/groups * prod(k), fan_out = out * prod(k); the timm/TF depthwise convention
fan_out_grouped = out * prod(k) // groups is added when groups > 1. 1-D tensors use the fan_in /
fan_out arguments (a bias gets its layer's fan_in). Candidates (name: distribution):
  pytorch_default        U(+-1/sqrt(fan_in))  (= kaiming_uniform_(a=sqrt 5); timm ViT patch conv)
  pytorch_default_bias   U(+-1/sqrt(fan_in))  for 1-D biases
  pytorch_rnn            U(+-1/sqrt(hidden_size)) for every nn.RNN/LSTM/GRU weight and bias (replaces the
                         two above when ``hidden_size`` is given; torch RNNBase.reset_parameters)
  kaiming_normal_fan_in / _fan_out / _fan_out_grouped   N(0, 2/fan)        (relu gain sqrt 2)
  kaiming_uniform_fan_in / _fan_out / _fan_out_grouped  U(+-sqrt(6/fan))
  xavier_normal N(0, 2/(fan_in+fan_out)),  xavier_uniform U(+-sqrt(6/(fan_in+fan_out)))
  timm_goog_linear       U(+-1/sqrt(fan_out))  (timm _init_weight_goog for nn.Linear, 2-D only)
  lecun_normal           timm: sigma' * TN(-2, 2), sigma' = sqrt(1/fan_in)/0.87962566 (std sqrt(1/fan_in))
  trunc_normal_fan_in    N(0, 1/fan_in) truncated at +-2 absolute (torchvision ViT patch conv)
  trunc_normal_0.02, normal_0.02, normal_0.01, normal_1 (Embedding), normal_1e-06 (tokens, ViT biases)
  orthogonal             rows (or columns, whichever fewer) orthonormal times a gain
  constant_0, constant_1, constant (any other single value, e.g. layer scale 1e-6)
Distance: Kolmogorov–Smirnov D = sup |F_n - F| against the candidate's CDF, on the sorted values
(stats.sampling.subsample of ``sample_max`` values, with replacement, for bigger tensors).
Orthogonal: G = A A^T of the smaller side (at most 64 rows/columns, seeded) against c I with
c = mean diag G: distance = ||G - c I||_F / (c sqrt(m)) (1e-7 for orthogonal_, ~sqrt(m/N) for i.i.d.),
gain = sqrt(c) (scale_ratio against gain 1). Constants: distance = fraction of values != c.
``scale_ratio`` = std(x) / expected std (std of the KS sample). Best = smallest distance; ``ties`` lists candidates within
1e-9 of it (trunc_normal_0.02 and normal_0.02 are the same distribution in practice).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import blas
from .initlaws import get_law
from .lawdists import TN2_STD, law_cdf, law_std
from .sampling import sample_index, subsample
from .shapes import goog_fan_out, torch_fans
from .streaming import count_not_equal

LECUN_TN_STD = TN2_STD  # std of N(0,1) truncated to (-2, 2)


@dataclass
class SigMatch:
    name: str
    distance: float
    kind: str            # 'uniform', 'normal', 'truncnorm', 'orthogonal', 'constant'
    params: dict = field(default_factory=dict)
    expected_std: float = float("nan")
    scale_ratio: float = float("nan")

    def to_dict(self) -> dict:
        return {"name": self.name, "distance": float(self.distance), "kind": self.kind,
                "params": {k: float(v) for k, v in self.params.items()},
                "expected_std": float(self.expected_std), "scale_ratio": float(self.scale_ratio)}


@dataclass
class SignatureReport:
    best: str | None
    distance: float
    matches: list[SigMatch]      # sorted by distance
    ties: list[str]
    n: int
    n_used: int                  # values used for KS (n or the subsample)
    seed: int

    @property
    def best_match(self) -> SigMatch | None:
        return self.matches[0] if self.matches else None

    def get(self, name: str) -> SigMatch | None:
        for m in self.matches:
            if m.name == name:
                return m
        return None

    def to_dict(self) -> dict:
        return {"best": self.best, "distance": float(self.distance), "ties": list(self.ties),
                "n": self.n, "n_used": self.n_used, "seed": self.seed,
                "scale_ratio": float(self.matches[0].scale_ratio) if self.matches else float("nan"),
                "matches": [m.to_dict() for m in self.matches]}


def fans(shape, fan_in=None, fan_out=None, groups=None) -> dict[str, float]:
    """{'fan_in', 'fan_out', 'fan_out_grouped'?} from the shape (stats.shapes: torch's fans, timm's
    grouped fan_out), else the args."""
    shape = tuple(int(s) for s in shape)
    g = int(groups) if groups else 1
    out: dict[str, float] = {}
    if len(shape) >= 2:
        out["fan_in"], out["fan_out"] = torch_fans(shape)
        if g > 1:
            out["fan_out_grouped"] = goog_fan_out(shape, g)
    else:
        if fan_in:
            out["fan_in"] = int(fan_in)
        if fan_out:
            out["fan_out"] = int(fan_out)
    return out


def candidates(shape, role=None, fan_in=None, fan_out=None, groups=None,
               hidden_size=None) -> list[tuple[str, str, dict]]:
    """(name, kind, params) for every initializer applicable to this tensor; the laws and their params
    come from paramstat.stats.initlaws (by name), the choice of laws from the shape and fans."""
    f = fans(shape, fan_in, fan_out, groups)
    nd = len(tuple(shape))
    c: list[tuple[str, str, dict]] = []
    fi, fo = f.get("fan_in"), f.get("fan_out")

    def add(name, **ctx):
        law = get_law(name)
        c.append((name, law.dist, law.params(**ctx)))

    if hidden_size:  # torch.nn.RNNBase.reset_parameters: every weight and bias U(+-1/sqrt(hidden_size))
        add("pytorch_rnn", hidden_size=hidden_size)
    if nd >= 2 and fi:
        if not hidden_size:
            add("pytorch_default", fan_in=fi)
        for mode in ("fan_in", "fan_out", "fan_out_grouped"):
            if f.get(mode):
                add(f"kaiming_normal_{mode}", **{mode: f[mode]})
                add(f"kaiming_uniform_{mode}", **{mode: f[mode]})
        if fo and nd == 2:  # timm _init_weight_goog Linear (EfficientNet/MobileNet heads)
            add("timm_goog_linear", fan_out=fo)
        if fo:
            add("xavier_normal", fan_in=fi, fan_out=fo)
            add("xavier_uniform", fan_in=fi, fan_out=fo)
        add("lecun_normal", fan_in=fi)
        add("trunc_normal_fan_in", fan_in=fi)
    elif fi and not hidden_size:
        add("pytorch_default_bias", fan_in=fi)
    for name in ("trunc_normal_0.02", "normal_0.02", "normal_0.01", "normal_1", "normal_1e-06"):
        add(name)
    if nd >= 2:
        add("orthogonal")
    add("constant_0")
    add("constant_1")
    return c


_NDTR_GRID = None


def _ndtr(z: np.ndarray) -> np.ndarray:
    """Phi(z) by linear interpolation of a 16,384-point table on [-8, 8] (error < 3e-8, far below
    any KS D that matters; 2-5x faster than scipy.special.ndtr)."""
    global _NDTR_GRID
    if _NDTR_GRID is None:
        from scipy.special import ndtr

        g = np.linspace(-8.0, 8.0, 1 << 14)
        _NDTR_GRID = (g, ndtr(g))
    return np.interp(z, *_NDTR_GRID)


def _cdf(kind: str, p: dict, x: np.ndarray) -> np.ndarray:
    return law_cdf(kind, p, x, ndtr=_ndtr)


def _std(kind: str, p: dict) -> float:
    return law_std(kind, p) if kind in ("uniform", "normal", "truncnorm") else float("nan")


def ks_distance(sorted_x: np.ndarray, cdf_vals: np.ndarray, _steps=None) -> float:
    """One-sample KS D = max(max(i/n - F(x_i)), max(F(x_i) - (i-1)/n)) on sorted values."""
    if _steps is None:
        n = sorted_x.size
        i = np.arange(1, n + 1, dtype=np.float64)
        _steps = (i / n, (i - 1) / n)
    return float(max(np.max(_steps[0] - cdf_vals), np.max(cdf_vals - _steps[1])))


def orthogonal_distance(w: np.ndarray, seed: int = 0, max_rows: int = 64) -> tuple[float, float]:
    """(||G - c I||_F / (c sqrt m), gain sqrt(c)) for G = A A^T, A the smaller side as rows."""
    a = w.reshape(w.shape[0], -1)
    if a.shape[0] > a.shape[1]:
        a = a.T
    m = a.shape[0]
    if m < 2:
        return float("nan"), float("nan")
    if m > max_rows:
        a = a[sample_index(m, max_rows, seed=seed, replace=False, sort=True)]
        m = max_rows
    a = a.astype(np.float64)
    with blas.limit(1):
        g = a @ a.T
    c = float(np.mean(np.diag(g)))
    if c <= 0:
        return float("inf"), 0.0
    g[np.diag_indices(m)] -= c
    return float(np.linalg.norm(g) / (c * np.sqrt(m))), float(np.sqrt(c))


def init_signatures(x, role: str | None = None, fan_in: int | None = None, fan_out: int | None = None,
                    shape=None, groups: int | None = None, seed: int = 0,
                    sample_max: int = 200_000, hidden_size: int | None = None) -> SignatureReport:
    """Distance of ``x`` to every applicable initializer (module doc); best = smallest distance.

    ``x`` may be the tensor or any 1-D (e.g. sorted, sub-sampled) set of its values: ``shape`` then
    gives the fans, and the orthogonal test (which needs the matrix) is skipped. ``role`` is recorded
    for the caller; the candidates follow the shape and fans, not the role. ``hidden_size`` (recurrent
    layers) makes PyTorch's RNN law U(+-1/sqrt(hidden_size)) the default candidate ``pytorch_rnn``."""
    x = np.asarray(x)
    shape = tuple(x.shape) if shape is None else tuple(shape)
    flat = x.reshape(-1)
    n = int(flat.size)
    if n == 0:
        return SignatureReport(None, float("nan"), [], [], 0, 0, seed)
    sub = subsample(flat, sample_max, seed=seed)
    xs = np.sort(sub.astype(np.float64))
    i = np.arange(1, xs.size + 1, dtype=np.float64)
    steps = (i / xs.size, (i - 1) / xs.size)
    std = float(np.std(xs))
    is_const = bool(flat[0] == flat[-1] and count_not_equal(flat, flat[0]) == 0)
    matches: list[SigMatch] = []
    for name, kind, p in candidates(shape, role, fan_in, fan_out, groups, hidden_size):
        if kind == "constant":
            d = float(count_not_equal(flat, p["c"]) / n)  # = np.mean(flat != c), no whole bool array
            matches.append(SigMatch(name, d, kind, p))
        elif kind == "orthogonal":
            if is_const or len(shape) < 2 or x.ndim < 2:
                continue
            d, gain = orthogonal_distance(x.reshape(shape), seed)
            if np.isnan(d):
                continue
            matches.append(SigMatch(name, d, kind, {"gain": gain}, 1.0, gain))
        else:
            es = _std(kind, p)
            matches.append(SigMatch(name, ks_distance(xs, _cdf(kind, p, xs), steps), kind, p, es,
                                    std / es if es > 0 else float("nan")))
    if is_const and float(flat[0]) not in (0.0, 1.0):
        matches.append(SigMatch("constant", 0.0, "constant", {"c": float(flat[0])}))
    matches.sort(key=lambda m: (m.distance, m.name))
    best = matches[0]
    ties = [m.name for m in matches if m.distance <= best.distance + 1e-9]
    return SignatureReport(best.name, best.distance, matches, ties, n, int(xs.size), seed)
