"""Sample an "architecture-native" init from a fitted profile (see paramstat.init.profile).

For every parameter of the module (`layers.all_slots`: role, fan_in, fan_out, kernel, relative depth)
the profile entry of its role (fallbacks: attention q/k/v/proj -> 'linear', BatchNorm <-> other
norms) predicts loc, scale (std)
and shape (gennorm beta or t df); values are drawn i.i.d. from the family at unit variance
(gennorm: sign * Gamma(1/beta)^(1/beta) * sqrt(Gamma(1/beta)/Gamma(3/beta)); t: t_df * sqrt((df-2)/df)),
then loc + scale * draw. For k x k conv kernels with a spatial covariance in the profile, the draws of
each filter are arranged by a Gaussian copula: ranks per spatial position follow z ~ N(0, R)
(R the profile's correlation), and each position is scaled by sqrt(its covariance diagonal), so the
marginal family stays exact while the filters get the trained k x k covariance (Trockman et al. 2023).
Attention keys: if the profile has a q/k alignment law (trained W_q and W_k are correlated, the
"mimetic" structure of Trockman & Kolter 2023), the standardised k draws become
rho * q_draws + sqrt(1 - rho^2) * k_draws (unit variance kept; the marginal moves slightly toward normal).

Parameters whose role the profile lacks ('other', layer-scale gammas, ...) keep the module's own
init and are listed in `NativeReport.unmatched`. Deterministic: each tensor's generator is seeded
by (seed, crc32(name)), so the result depends neither on global RNG state nor on iteration order.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

from ..stats.sampling import subsample as sample_values
from .profile import load_profile, predict, unit_dist
from .spatialcov import band_cov

FALLBACK = {"attn_q": ("linear",), "attn_k": ("linear",), "attn_v": ("linear",), "attn_proj": ("linear",),
            "bn_weight": ("norm_weight",), "bn_bias": ("norm_bias",), "norm_weight": ("bn_weight",),
            "norm_bias": ("bn_bias",)}
GENNORM_BETA = (0.3, 50.0)
T_DF = (2.05, 1000.0)


@dataclass
class NativeRow:
    name: str
    role: str
    matched_role: str
    family: str
    loc: float
    scale: float
    shape: float
    n: int
    extrapolated: bool
    fan_in: int = 0
    fan_out: int = 0
    kernel: int = 1
    rel_depth: float = 0.0
    spatial_k: int | None = None
    pos_scale: list | None = None
    qk_rho: float | None = None     # attn_k: cosine with its block's q draws (mimetic structure)
    law_scale: float | None = None  # the profile law's scale at this tensor (what 'profile' mode would draw)
    scale_source: str = "profile"   # 'fan' (He/LeCun fan law), 'profile', 'fan (outside fitted fan_in ...)'


@dataclass
class NativeReport:
    seed: int
    profile_sources: list
    rows: list[NativeRow] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    kept_constant: list[str] = field(default_factory=list)
    scale_mode: str = "fan"

    def as_dict(self) -> dict:
        return asdict(self)


def iid_unit(family: str, shape: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n i.i.d. draws of the family at ``shape``, mean 0, variance 1."""
    if family == "gennorm":
        b = float(np.clip(shape, *GENNORM_BETA))
        a = math.exp(0.5 * (math.lgamma(1.0 / b) - math.lgamma(3.0 / b)))
        g = rng.gamma(1.0 / b, 1.0, size=n) ** (1.0 / b)
        return np.where(rng.random(n) < 0.5, -g, g) * a
    if family == "t":
        df = float(np.clip(shape, *T_DF))
        return rng.standard_t(df, size=n) * math.sqrt((df - 2.0) / df)
    raise ValueError(f"unknown family {family!r}")


def copula_filters(draws: np.ndarray, cov: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrange i.i.d. unit draws of shape (m, k*k) so that their per-position ranks follow N(0, R),
    R = corr(cov); scale position j by sqrt(cov_jj). Returns (filters, pos_scale)."""
    d = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    corr = cov / np.outer(d, d)
    w, v = np.linalg.eigh((corr + corr.T) / 2)
    L = v * np.sqrt(np.clip(w, 0, None))
    zt = L @ rng.standard_normal((draws.shape[1], draws.shape[0]))      # (k*k, m), rows contiguous
    dt = np.sort(np.ascontiguousarray(draws.T), axis=1)
    out = np.empty_like(dt)
    np.put_along_axis(out, np.argsort(zt, axis=1), dt, axis=1)
    out = out.T
    return out * d, d


def _entry(prof: dict, role: str) -> tuple[str | None, dict | None]:
    roles = prof["roles"]
    for r in (role,) + FALLBACK.get(role, ()):
        if r in roles:
            return r, roles[r]
    return None, None


def predict_params(entry: dict, fan_in: int, fan_out: int, kernel: int, rel_depth: float) -> tuple[float, float, float, bool]:
    """(loc, scale, shape, extrapolated) of an entry at the given features."""
    feats = {"log_fan_in": math.log(max(1, fan_in)), "rel_depth": rel_depth,
             "log_fan_out": math.log(max(1, fan_out)), "log_kernel": math.log(max(1, kernel))}
    ls, e1 = predict(entry["scale_law"], feats, fan_in_law=-0.5)
    lsh, _ = predict(entry["shape_law"], feats)
    loc, _ = predict(entry["loc_law"], feats)
    lo, hi = GENNORM_BETA if entry["family"] == "gennorm" else T_DF
    return float(loc), float(math.exp(ls)), float(np.clip(math.exp(lsh), lo, hi)), e1


# Fan law of the scale mode 'fan': Var(W) = gain^2 / fan_in (torch fans: in_channels/groups x k*k).
# gain^2 = 2 (He et al. 2015, ReLU family) for conv / linear weights, 1 (LeCun; Xavier for square W) for
# attention q/k/v/proj, which no ReLU follows.
FAN_GAIN2 = {"conv": 2.0, "dwconv": 2.0, "pwconv": 2.0, "linear": 2.0,
             "attn_q": 1.0, "attn_k": 1.0, "attn_v": 1.0, "attn_proj": 1.0}
SCALE_MODES = ("auto", "own", "fan", "profile", "data")


def fan_std(role: str, fan_in: int, last: bool = False) -> float | None:
    """sqrt(gain^2 / fan_in) for the weight roles of FAN_GAIN2 (the last weight tensor, the logits layer
    that no ReLU follows, gain^2 = 1); None for roles without a fan law."""
    g2 = FAN_GAIN2.get(role)
    if g2 is None:
        return None
    return math.sqrt((1.0 if last else g2) / max(1, fan_in))


def is_torch_default(t, fan_in: int) -> bool:
    """Whether ``t`` looks drawn by PyTorch's default layer init kaiming_uniform_(a=sqrt(5)) =
    U(+-1/sqrt(fan_in)): every |value| <= the bound and the std within 5 % of 1/sqrt(3 fan_in) (10 % below
    1,000 values). That law is nobody's choice for the architecture, and it shrinks the length scale by 6x per
    ReLU layer (Var = 1/(3 fan_in): Hanin & Rolnick's FM1)."""
    n = t.numel()
    if n < 20:
        return False
    x = t.detach().double()
    bound = 1.0 / math.sqrt(max(1, fan_in))
    tol = 0.05 if n >= 1000 else 0.10
    return bool(x.abs().max() <= bound * (1 + 1e-6)) and abs(float(x.std()) / (bound / math.sqrt(3)) - 1) <= tol


def native_(module, profile, seed: int = 0, roles: tuple[str, ...] | None = None, scale: str = "auto",
            keep: set[str] | frozenset = frozenset(), qk_rho: float | None = None) -> NativeReport:
    """Fill ``module``'s parameters in place from ``profile`` (path, 'default' or dict); see module doc.
    ``roles`` restricts sampling to those roles (others keep the module's init); ``keep``: slot / parameter
    names left as they are (apply_init passes the model's constant tensors, paramstat.init.keep).

    ``scale``: how weight tensors (roles of FAN_GAIN2) are scaled; family, shape, k x k covariance and q/k
    alignment always come from the profile, loc keeps the profile's loc / scale ratio.
    - 'auto' (default): 'own' where the module's own init chose the tensor's scale, 'fan' where it is
      PyTorch's default U(+-1/sqrt(fan_in)) (is_torch_default), which vanishes with depth -- except in
      modules with BatchNorm, where every weight takes 'own': BN makes the train-mode forward blind to the
      scale of the layers it follows, and in eval mode (running stats as built) He-scaled residual branches
      add up over depth (kaiming_normal gives ghostnet_100 an output std 6.8e3, its own init 0.018).
    - 'own': the std the module's own (current) init gave the tensor: the architecture's choice (timm
      ResNet's fan_out He, EfficientNet's goog init, ViT's trunc_normal .02), with the trained shape.
      apply_init then matches each such layer's output variance to the own init's on a batch (eval mode;
      paramstat.init.calibrate), which removes the extra gain of correlated k x k filters ('fan' layers
      likewise, against i.i.d. normal draws at the fan std: the length scale the fan law promises).
    - 'fan': std = fan_std(role, fan_in), the law He (conv / linear, ReLU) or LeCun (attention, the
      logits layer) would use, so the forward length scale is preserved.
    - 'profile': the profile's scale law (the trained scale). Where fan_in lies outside the law's fitted
      range the law is not extrapolated: the fan law is used and the row says so (scale_source).
    - 'data': as 'fan', then apply_init rescales layer by layer on a batch (LSUV without its orthonormal
      pre-init, Mishkin & Matas 2015).
    Other roles (biases, norms, embeddings) take the profile's law in every mode.
    ``qk_rho``: mimetic attention (Trockman & Kolter 2023) at a chosen strength: every attention block's key
    draws become qk_rho * q_draws + sqrt(1 - qk_rho^2) * k_draws, whatever the profile's alignment law says
    (W_q W_k^T then has qk_rho * W_q W_q^T ~ qk_rho * n sigma^2 I as its mean part)."""
    import torch

    from ..errors import ParamstatError
    from .layers import all_slots, qk_block

    if scale not in SCALE_MODES:
        raise ParamstatError(f"unknown native scale mode {scale!r}", hint="one of " + ", ".join(SCALE_MODES))
    prof = load_profile(profile)
    rep = NativeReport(seed=seed, profile_sources=[s.get("label", s.get("source"))
                                                   for s in prof["provenance"]["sources"]], scale_mode=scale)
    q_draws: dict[str, np.ndarray] = {}
    slots = all_slots(module)
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())
    last_w = max((i for i, s in enumerate(slots) if s.role in FAN_GAIN2), default=-1)
    own = {s.name: (float(s.tensor.double().std()) if s.tensor.numel() > 1 else 0.0,
                    is_torch_default(s.tensor, s.fan_in)) for s in slots if s.role in FAN_GAIN2}
    for i, s in enumerate(slots):
        if roles is not None and s.role not in roles:
            continue
        if s.name in keep:
            rep.kept_constant.append(s.name)
            continue
        mrole, entry = _entry(prof, s.role)
        if entry is None:
            rep.unmatched.append(f"{s.name} ({s.role})")
            continue
        loc, law_scale, shp, extrap = predict_params(entry, s.fan_in, s.fan_out, s.kernel, s.rel_depth)
        scale_v, source = law_scale, "profile"
        fstd = fan_std(s.role, s.fan_in, last=i == last_w)
        lo, hi = (math.exp(v) for v in entry["scale_law"]["range"]["log_fan_in"])
        outside = not lo * (1 - 1e-9) <= s.fan_in <= hi * (1 + 1e-9)
        if fstd is not None and scale != "profile" or outside and fstd is not None:
            own_std, torch_default = own[s.name]
            if scale in ("own", "auto") and own_std > 0 and not (scale == "auto" and torch_default and not has_bn):
                source, target = "own", own_std
            elif scale == "profile":
                source, target = f"fan (fan_in {s.fan_in} outside fitted {lo:.0f}..{hi:.0f})", fstd
            else:
                source, target = "fan", fstd
            loc, scale_v = loc / law_scale * target, target
        if s.role == "bias" and scale != "profile":
            # a bias law fitted on few tensors can extrapolate far (a fit through 8 source biases gave conv
            # biases std 6.3 and killed a CNN); at a propagating scale no bias exceeds PyTorch's default range:
            # std <= 1/sqrt(fan_in), |loc| <= that std
            cap = 1.0 / math.sqrt(max(1, s.fan_in))
            if scale_v > cap:
                scale_v, source = cap, "capped at 1/sqrt(fan_in)"
            loc = float(np.clip(loc, -scale_v, scale_v))
        n = int(s.tensor.numel())
        rng = np.random.default_rng([seed, zlib.crc32(s.name.encode())])
        draws = iid_unit(entry["family"], shp, n, rng)
        row = NativeRow(s.name, s.role, mrole, entry["family"], loc, scale_v, shp, n, extrap,
                        s.fan_in, s.fan_out, s.kernel, round(s.rel_depth, 6), law_scale=law_scale,
                        scale_source=source)
        shape = s.shape
        sc = entry.get("spatial_cov", {}).get(str(s.kernel)) if len(shape) == 4 else None
        if sc is not None and shape[2] == shape[3] == s.kernel:
            k2 = s.kernel * s.kernel
            sc = band_cov(sc, s.rel_depth)
            draws, d = copula_filters(draws.reshape(-1, k2), np.asarray(sc["cov"]), rng)
            row.spatial_k, row.pos_scale = s.kernel, [float(x) for x in d]
        blk = qk_block(s.name, s.role)
        if blk is not None and s.role == "attn_q":
            q_draws[blk] = draws
        elif blk is not None and blk in q_draws and q_draws[blk].size == draws.size and (
                "qk_alignment" in entry or qk_rho is not None) and s.role == "attn_k":
            feats = {"log_fan_in": math.log(max(1, s.fan_in)), "rel_depth": s.rel_depth,
                     "log_fan_out": math.log(max(1, s.fan_out)), "log_kernel": 0.0}
            rho = float(np.clip(qk_rho if qk_rho is not None else predict(entry["qk_alignment"]["law"], feats)[0],
                                -0.95, 0.95))
            draws = rho * q_draws[blk].reshape(draws.shape) + math.sqrt(1.0 - rho * rho) * draws
            row.qk_rho = rho
        vals = loc + scale_v * draws.reshape(shape)
        s.write(torch.from_numpy(np.ascontiguousarray(vals)))
        rep.rows.append(row)
    return rep


@dataclass
class CheckRow:
    name: str
    role: str
    n: int
    ks_d: float | None
    ks_bound: float | None
    mean_dev: float          # |mean - loc| / scale
    mean_bound: float
    std_ratio: float         # std / scale
    std_bound: float | None  # allowed |std_ratio - 1| (None: infinite kurtosis, not checked)
    ok: bool


def check_native(module, report: NativeReport, subsample: int = 10_000, alpha: float = 0.01) -> list[CheckRow]:
    """Every sampled tensor against its profile prediction, at family-wise level ``alpha`` over the N
    tensors checked (Bonferroni, a = alpha/N). Bounds (n values, m = min(n, subsample)):
    KS D <= 0.01 + c(a)/sqrt(m), c(a) = sqrt(-ln(a/2)/2) the asymptotic KS critical value (skipped for
    n < 20); |mean - loc| <= 4 scale/sqrt(n) + 1e-6 scale; |std/scale - 1| <= 0.02 + 4 sqrt((kurt + 2)/(4n))
    (kurt = the family's excess kurtosis; 4 standard errors), checked only for n >= 1000 and finite kurt
    (below that, or for Student-t df <= 4, the sample std of a heavy-tailed sample is far from normal;
    KS checks the scale there). For copula-arranged
    conv kernels the reference CDF is the mixture over spatial positions."""
    from scipy import stats

    from .layers import all_slots

    params = dict(module.named_parameters())
    slots = {s.name: s for s in all_slots(module)}
    c_ks = math.sqrt(-0.5 * math.log(alpha / max(1, len(report.rows)) / 2.0))
    rows = []
    for r in report.rows:
        s = slots.get(r.name)
        t = s.tensor if s is not None else params[r.name].data
        x = t.detach().double().numpy().reshape(-1)
        n = x.size
        d = unit_dist(r.family, r.shape)
        kurt = float(d.stats(moments="k"))
        ps = np.asarray(r.pos_scale) if r.pos_scale else np.ones(1)
        mean_dev = abs(x.mean() - r.loc) / r.scale
        mean_bound = 4.0 / math.sqrt(n) + 1e-6
        std_ratio = float(x.std() / r.scale) if n > 1 else 1.0
        std_bound = None
        if np.isfinite(kurt) and kurt < 1e6 and n >= 1000:
            kurt_mix = (kurt + 3.0) * float(np.mean(ps ** 4)) / float(np.mean(ps ** 2)) ** 2 - 3.0
            std_bound = 0.02 + 4.0 * math.sqrt(max(kurt_mix + 2.0, 0.1) / (4.0 * n))
        ks_d = ks_bound = None
        if n >= 20:
            xs = sample_values(x, subsample, seed=0, replace=False)
            z = (xs - r.loc) / r.scale
            if r.pos_scale:
                def cdf(v, ps=ps, d=d):
                    return np.mean([d.cdf(v / p) for p in ps], axis=0)
            else:
                cdf = d.cdf
            ks_d = float(stats.kstest(z, cdf).statistic)
            ks_bound = 0.01 + c_ks / math.sqrt(z.size)
        ok = (mean_dev <= mean_bound and (std_bound is None or abs(std_ratio - 1) <= std_bound)
              and (ks_d is None or ks_d <= ks_bound))
        rows.append(CheckRow(r.name, r.role, n, ks_d, ks_bound, float(mean_dev), mean_bound, std_ratio,
                             std_bound, bool(ok)))
    return rows


CHECK_BOUNDS = ("family-wise 1% over the tensors (Bonferroni): KS D <= 0.01 + c/sqrt(m), c = sqrt(-ln(0.01/N/2)/2); "
                "|mean-loc|/scale <= 4/sqrt(n); |std/scale - 1| <= 0.02 + 4 sqrt((kurt+2)/(4n)) for n >= 1000 and finite kurt")
