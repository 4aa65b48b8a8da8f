"""compare(a, b) -> CompareResult: stream both checkpoints tensor by tensor, diff every matched pair.

Memory: one pair of tensors at a time (the records' lazy read()), plus subsamples; peak is about the two
largest tensors. Cost: one fused pass per changed pair (paramstat.compare.kernel), a bit-equality check
for unchanged ones; the deep statistics (family fits, spectra) run on caps (see CompareOptions).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..record import Checkpoint, TensorRecord
from . import metrics as M
from .align import align
from .casts import cast_relation
from .inputs import to_checkpoint
from .kernel import pair_sums
from .relation import CAST, CHANGED, IDENTICAL, Voter, pair_verdict, tensor_relation


@dataclass
class CompareOptions:
    subsample: int = 100_000       # elements per tensor (same positions in A and B) for KS, W1, robust stats
    deep: str = "auto"             # family fits + spectra: 'auto' (the deep_top most-changed weight
    deep_top: int = 8              # tensors), 'all' changed weight tensors, or 'none'
    fit_subsample: int = 2_000     # values per fit (paramstat.stats.fits: ~0.2 s at 2k, 0.4 s at 5k, 2 s at 20k)
    spectral_max_rows: int = 256   # spectra on a random row/column subset at most this big
    spectral_max_cols: int = 1024
    hist_bins: int = 64
    seed: int = 0


@dataclass
class TensorDiff:
    name: str
    role: str
    depth: int
    shape: list[int]
    dtype_a: str
    dtype_b: str
    numel: int
    relation: str | None
    rel_change: float              # ||B-A|| / ||A||  (0 when both zero, inf when only A is zero)
    cosine: float                  # <A,B> / (||A|| ||B||)
    corr: float                    # Pearson correlation (NaN when one side is constant)
    max_abs_diff: float
    equal: bool                    # every value equal (-0 == +0)
    bit_identical: bool            # same dtype, same bits
    cast: str | None               # e.g. 'A->bfloat16', 'B = A via bfloat16'
    frac_changed: float            # fraction of elements whose value changed
    norm_a: float
    norm_b: float
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    skew_a: float
    skew_b: float
    kurt_a: float                  # excess kurtosis, full data
    kurt_b: float
    robust_std_a: float            # 1.4826 MAD, subsample
    robust_std_b: float
    robust_kurt_a: float           # Moors octile kurtosis - 1.233, subsample
    robust_kurt_b: float
    ks_d: float                    # two-sample KS statistic, subsample
    w1: float                      # Wasserstein-1, subsample
    w1_sigma: float                # w1 / std_a
    subsample_n: int
    flip_rate: list[float] | None  # per bit position (0 = LSB): fraction of elements that flipped it
    fit_a: dict | None = None      # {'family', 'params', ...} best by BIC
    fit_b: dict | None = None
    spectral_a: dict | None = None  # {'n_spikes', 'top_over_edge', ...}
    spectral_b: dict | None = None
    spectral_shape: list[int] | None = None  # the (sub)matrix the spectra used
    nonfinite: int = 0             # pairs with a NaN/Inf on either side (excluded from the sums)
    bits_never_set_a: int = 0      # mask of stored bits zero in every element (dtype history)
    bits_never_set_b: int = 0
    hist: dict | None = field(default=None, repr=False)
    name_b: str | None = None      # B's name when it differs from A's (prefix swapped, paired by position)

    @property
    def d_mean(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def d_std(self) -> float:
        return self.std_b - self.std_a

    @property
    def d_kurt(self) -> float:
        return self.kurt_b - self.kurt_a

    @property
    def d_robust_kurt(self) -> float:
        return self.robust_kurt_b - self.robust_kurt_a

    @property
    def family_changed(self) -> bool | None:
        if not self.fit_a or not self.fit_b:
            return None
        return self.fit_a.get("family") != self.fit_b.get("family")

    @property
    def spikes_change(self) -> int | None:
        if not self.spectral_a or not self.spectral_b:
            return None
        return self.spectral_b["n_spikes"] - self.spectral_a["n_spikes"]

    def to_dict(self, hist: bool = False) -> dict:
        d = asdict(self)
        if not hist:
            d.pop("hist", None)
        d.update(d_mean=self.d_mean, d_std=self.d_std, d_kurt=self.d_kurt, d_robust_kurt=self.d_robust_kurt,
                 family_changed=self.family_changed, spikes_change=self.spikes_change)
        return d


@dataclass
class CompareResult:
    source_a: str
    source_b: str
    relation: str | None
    tensors: list[TensorDiff]
    only_in_a: list[str]
    only_in_b: list[str]
    shape_mismatch: list[dict]
    unchanged_while_others_moved: list[str]
    non_float: list[dict]          # integer/bool tensors: {name, equal}
    prefix_removed: dict
    params_a: int
    params_b: int
    params_compared: int
    elapsed_s: float
    options: CompareOptions
    warnings: list[str] = field(default_factory=list)
    relation_detail: str = ""      # why the pair got its label (partial edit counts, coverage, shapes)
    relation_matched: str | None = None  # what the changed/matched tensors alone say (pair_relation)
    prefix_swapped: list[dict] = field(default_factory=list)  # [{'a', 'b', 'tensors'}]: prefix of A = prefix of B
    paired_by_position: int = 0    # pairs matched by position and shape (names differ; off with by_name)

    @property
    def complete(self) -> bool:
        """True when every tensor matched by name and shape: the relation covers both checkpoints whole."""
        return not (self.only_in_a or self.only_in_b or self.shape_mismatch)

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for t in self.tensors:
            k = t.relation or "moved (constant side)"
            c[k] = c.get(k, 0) + 1
        return c

    def top_changed(self, n: int = 10) -> list[TensorDiff]:
        moved = [t for t in self.tensors if not t.equal]
        return sorted(moved, key=lambda t: (-_finite(t.rel_change), t.depth))[:n]

    def to_dict(self, hist: bool = False) -> dict:
        return {
            "source_a": self.source_a, "source_b": self.source_b, "relation": self.relation,
            "relation_detail": self.relation_detail, "relation_matched": self.relation_matched,
            "relation_covers_all": self.complete, "counts": self.counts(), "params_a": self.params_a, "params_b": self.params_b,
            "params_compared": self.params_compared, "elapsed_s": self.elapsed_s,
            "only_in_a": self.only_in_a, "only_in_b": self.only_in_b, "shape_mismatch": self.shape_mismatch,
            "unchanged_while_others_moved": self.unchanged_while_others_moved, "non_float": self.non_float,
            "prefix_removed": self.prefix_removed, "prefix_swapped": self.prefix_swapped,
            "paired_by_position": self.paired_by_position, "options": asdict(self.options), "warnings": self.warnings,
            "tensors": [t.to_dict(hist=hist) for t in self.tensors],
        }

    def to_dataframe(self):
        import pandas as pd

        rows = []
        for t in self.tensors:
            d = t.to_dict()
            d["shape"] = "x".join(map(str, t.shape))
            for k in ("fit_a", "fit_b", "spectral_a", "spectral_b"):
                d.pop(k)
            d["family_a"] = (t.fit_a or {}).get("family")
            d["family_b"] = (t.fit_b or {}).get("family")
            d["spikes_a"] = (t.spectral_a or {}).get("n_spikes")
            d["spikes_b"] = (t.spectral_b or {}).get("n_spikes")
            d.pop("flip_rate")
            rows.append(d)
        return pd.DataFrame(rows)


def _finite(x: float) -> float:
    return 1e300 if x is None or math.isinf(x) else (-1.0 if math.isnan(x) else x)


# -------------------------------------------------------------------------------------- per pair
def diff_pair(ra: TensorRecord, rb: TensorRecord, opts: CompareOptions) -> TensorDiff:
    """All statistics of one matched pair (reads both tensors once)."""
    xa, xb = ra.read(), rb.read()
    da, db = ra.dtype, rb.dtype
    n = ra.numel
    idx = M.subsample_index(n, opts.subsample, ra.name, opts.seed)
    sa, sb = M.take(xa, da, idx), M.take(xb, db, idx)
    same_bits = da == db and bytes_equal(xa, xb)
    ra_rob = M.robust(sa)
    if same_bits:
        return _identical_diff(ra, xa, sa, ra_rob, n, idx is None, opts)
    shift_a = float(sa.mean()) if sa.size else 0.0
    shift_b = float(sb.mean()) if sb.size else 0.0
    s = pair_sums(xa, da, xb, db, shift_a, shift_b)
    ma, mb = M.pair_moments(s)
    rel, cos, corr = M.rel_change(s), M.cosine(s), M.pearson(s, ma, mb)
    equal = s.n_value_equal == s.n_finite == n
    cast = None
    if not (equal and da == db) and (da != db or rel < 0.05):
        cast = cast_relation(xa, da, xb, db, s.or_a, s.or_b)
    rb_rob = M.robust(sb)
    ks, w1 = M.ks_w1(sa, sb)
    flip_rate = (s.flips / n).tolist() if s.flips is not None and n else None
    width = (s.flips.size if s.flips is not None else 8 * np.asarray(xa).itemsize)
    full = (1 << width) - 1
    rel_label = tensor_relation(identical=equal and da == db, cast=cast, rel_change=rel, corr=corr, n=s.n_finite)
    return TensorDiff(
        name=ra.name, role=ra.role, depth=ra.depth, shape=list(ra.shape), dtype_a=da, dtype_b=db, numel=n,
        relation=rel_label, rel_change=rel, cosine=cos, corr=corr, max_abs_diff=s.max_abs_diff, equal=equal,
        bit_identical=False, cast=cast, frac_changed=1.0 - s.n_value_equal / n if n else 0.0,
        norm_a=math.sqrt(s.xx), norm_b=math.sqrt(s.yy), mean_a=ma.mean, mean_b=mb.mean, std_a=ma.std,
        std_b=mb.std, skew_a=ma.skew, skew_b=mb.skew, kurt_a=ma.kurt, kurt_b=mb.kurt,
        robust_std_a=ra_rob.robust_std, robust_std_b=rb_rob.robust_std, robust_kurt_a=ra_rob.robust_kurt,
        robust_kurt_b=rb_rob.robust_kurt, ks_d=ks, w1=w1, w1_sigma=w1 / ma.std if ma.std > 0 else math.nan,
        subsample_n=int(sa.size), flip_rate=flip_rate, nonfinite=n - s.n_finite,
        bits_never_set_a=(~s.or_a) & full, bits_never_set_b=(~s.or_b) & full,
        hist=M.histograms(sa, sb, opts.hist_bins))


def bytes_equal(xa: np.ndarray, xb: np.ndarray, chunk: int = 1 << 22) -> bool:
    """Same stored bytes; chunked with an early exit (no full-size temporary, a changed pair stops at once)."""
    a = np.ascontiguousarray(xa).reshape(-1).view(np.uint8)
    b = np.ascontiguousarray(xb).reshape(-1).view(np.uint8)
    if a.size != b.size:
        return False
    return all(np.array_equal(a[i:i + chunk], b[i:i + chunk]) for i in range(0, a.size, chunk))


def _identical_diff(ra, xa, sa, rob, n, exact_sample, opts) -> TensorDiff:
    """Bit-identical pair: no pass over the data. The deltas are exactly 0; A's own level statistics
    (mean, std, skew, kurt, norm) come from its subsample (exact when n <= subsample)."""
    fin = sa[np.isfinite(sa)]
    mean = float(fin.mean()) if fin.size else math.nan
    std = float(fin.std()) if fin.size else math.nan
    if fin.size and std > 0:
        z = (fin - mean) / std
        skew, kurt = float(np.mean(z ** 3)), float(np.mean(z ** 4) - 3.0)
    else:
        skew = kurt = math.nan
    norm = float(np.sqrt(np.sum(fin * fin) * (n / max(fin.size, 1)))) if fin.size else 0.0
    zero = 1 << (8 * np.asarray(xa).itemsize)
    return TensorDiff(
        name=ra.name, role=ra.role, depth=ra.depth, shape=list(ra.shape), dtype_a=ra.dtype, dtype_b=ra.dtype,
        numel=n, relation=IDENTICAL, rel_change=0.0, cosine=1.0 if norm > 0 else math.nan,
        corr=1.0 if std > 0 else math.nan, max_abs_diff=0.0, equal=True, bit_identical=True, cast=None,
        frac_changed=0.0, norm_a=norm, norm_b=norm, mean_a=mean, mean_b=mean, std_a=std, std_b=std,
        skew_a=skew, skew_b=skew, kurt_a=kurt, kurt_b=kurt, robust_std_a=rob.robust_std,
        robust_std_b=rob.robust_std, robust_kurt_a=rob.robust_kurt, robust_kurt_b=rob.robust_kurt,
        ks_d=0.0, w1=0.0, w1_sigma=0.0, subsample_n=int(sa.size),
        flip_rate=[0.0] * (zero.bit_length() - 1), hist=None)


def deep_stats(td: TensorDiff, ra: TensorRecord, rb: TensorRecord, opts: CompareOptions) -> None:
    """Best-fit family (BIC) and spectral spikes for A and B, on capped subsamples (in place)."""
    xa, xb = ra.read(), rb.read()
    idx = M.subsample_index(td.numel, opts.fit_subsample, ra.name, opts.seed)
    sa, sb = M.take(xa, ra.dtype, idx), M.take(xb, rb.dtype, idx)
    td.fit_a = M.fit_summary(sa, opts.seed, opts.fit_subsample)
    td.fit_b = M.fit_summary(sb, opts.seed, opts.fit_subsample)
    if ra.role in ("conv", "linear", "attn_in_proj", "embedding", "dwconv") or (len(ra.shape) == 2):
        va = M.matrix_view(xa, ra.dtype, tuple(ra.shape), opts.spectral_max_rows, opts.spectral_max_cols,
                           ra.name, opts.seed)
        vb = M.matrix_view(xb, rb.dtype, tuple(rb.shape), opts.spectral_max_rows, opts.spectral_max_cols,
                           ra.name, opts.seed)
        if va is not None and vb is not None:
            td.spectral_a = M.spectral_summary(va[0], opts.seed)
            td.spectral_b = M.spectral_summary(vb[0], opts.seed)
            td.spectral_shape = list(va[0].shape)


WEIGHT_ROLES = ("conv", "dwconv", "linear", "attn_in_proj", "embedding")


def _deep_selection(diffs: list[tuple[TensorDiff, TensorRecord, TensorRecord]], opts: CompareOptions):
    """Weight tensors that moved (not identical/cast), most-changed first; all of them for deep='all'."""
    if opts.deep == "none":
        return []
    moved = [x for x in diffs if x[0].relation not in (IDENTICAL, CAST) and x[0].numel >= 16
             and (x[1].role in WEIGHT_ROLES or (x[1].role == "other" and len(x[1].shape) >= 2))]
    moved.sort(key=lambda x: -_finite(x[0].rel_change))
    return moved if opts.deep == "all" else moved[: opts.deep_top]


# ------------------------------------------------------------------------------------------ entry
def compare(a, b, *, fresh: bool = False, fresh_a: bool | None = None, fresh_b: bool | None = None,
            seed_a: int = 0, seed_b: int = 0, model: str | None = None, trust_pickle: bool = False,
            by_name: bool = False, options: CompareOptions | None = None, progress: bool = True, **option_overrides) -> CompareResult:
    """Diff checkpoint B against checkpoint A, tensor by tensor (see the module and docs/COMPARE.md).

    ``a``/``b``: a Checkpoint, an nn.Module, a state dict, or anything ``paramstat.sources.load`` takes
    (timm name, file, folder, .h5). ``fresh`` applies to both sides unless ``fresh_a``/``fresh_b`` say
    otherwise; ``seed_a``/``seed_b`` seed fresh inits; ``model`` (timm name) gives roles to weight files on
    both sides; ``trust_pickle`` as in load(); ``by_name``: never pair tensors by position and shape
    (paramstat.compare.align). Keyword overrides set CompareOptions fields.
    """
    from ..progress import track

    t0 = time.perf_counter()
    opts = options or CompareOptions()
    for k, v in option_overrides.items():
        if not hasattr(opts, k):
            raise TypeError(f"compare() got an unexpected keyword argument {k!r}")
        setattr(opts, k, v)
    kw = {"trust_pickle": trust_pickle, **({"model": model} if model else {})}
    ca: Checkpoint = to_checkpoint(a, fresh=fresh if fresh_a is None else fresh_a, seed=seed_a, **kw)
    cb: Checkpoint = to_checkpoint(b, fresh=fresh if fresh_b is None else fresh_b, seed=seed_b, **kw)
    al = align(ca, cb, by_name=by_name)
    float_pairs = [(x, y) for x, y in al.pairs if x.analysable and y.analysable]
    non_float = []
    for x, y in al.pairs:
        if not (x.analysable and y.analysable):
            ax, ay = x.read(), y.read()
            non_float.append({"name": x.name, "dtype_a": x.dtype, "dtype_b": y.dtype,
                              "equal": bool(np.array_equal(np.asarray(ax), np.asarray(ay)))})
    diffs: list[tuple[TensorDiff, TensorRecord, TensorRecord]] = []
    total = sum(x.numel for x, _ in float_pairs)
    for x, y in track(float_pairs, total=len(float_pairs), description="comparing", enabled=progress):
        d = diff_pair(x, y, opts)
        d.name_b = y.name if y.name != x.name else None
        diffs.append((d, x, y))
    # running statistics follow the data, not the optimizer: they vote only when nothing else is there
    voting = [d for d, x, _ in diffs if x.role != "running_stat"] or [d for d, _, _ in diffs]
    verdict = pair_verdict([Voter(d.relation, d.numel, bool(d.std_a > 0)) for d in voting],
                           n_pairs=len(float_pairs), n_shape_mismatch=len(al.shape_mismatch),
                           params_compared=sum(d.numel for d in voting),
                           params_smaller=min(ca.n_params, cb.n_params))
    relation = verdict.relation
    for d, _, _ in diffs:  # constant-side tensors that moved take the label of the tensors that changed
        if d.relation is None:
            d.relation = verdict.vote if verdict.vote in CHANGED else None
    deep = _deep_selection(diffs, opts)
    for d, x, y in track(deep, total=len(deep), description="fits and spectra", enabled=progress):
        deep_stats(d, x, y, opts)
    moved_any = any(d.relation not in (IDENTICAL, CAST) for d, _, _ in diffs)
    unchanged = [d.name for d, _, _ in diffs if d.equal and moved_any]
    warnings = list(dict.fromkeys(ca.warnings + cb.warnings))
    warnings += _alignment_warnings(al, by_name)
    if al.pairs and not float_pairs:
        warnings.append("no floating-point tensor in common")
    return CompareResult(
        source_a=ca.source, source_b=cb.source, relation=relation, tensors=[d for d, _, _ in diffs],
        only_in_a=al.only_in_a, only_in_b=al.only_in_b, shape_mismatch=al.shape_mismatch,
        unchanged_while_others_moved=unchanged, non_float=non_float, prefix_removed=al.prefix_removed,
        params_a=ca.n_params, params_b=cb.n_params, params_compared=total,
        elapsed_s=time.perf_counter() - t0, options=opts, warnings=warnings,
        relation_detail=verdict.detail, relation_matched=verdict.vote, prefix_swapped=al.prefix_swapped,
        paired_by_position=al.by_position)


def _alignment_warnings(al, by_name: bool) -> list[str]:
    """What the matching did beyond equal names, and why nothing matched when nothing did."""
    out = []
    if al.prefix_swapped:
        n = sum(x["tensors"] for x in al.prefix_swapped)
        def q(p: str) -> str:
            return f"'{p}'" if p else "(no prefix)"

        out.append(f"names differ: {n} tensors paired by prefix: " + ", ".join(
            f"A {q(x['a'])} = B {q(x['b'])} ({x['tensors']})" for x in al.prefix_swapped))
    if al.by_position:
        out.append(f"names differ: {al.by_position} tensors paired by position and shape (--by-name: by name only)")
    if not al.pairs and al.shape_mismatch:
        m = al.shape_mismatch[0]
        out.append(f"{len(al.shape_mismatch)} tensor name(s) in common, every one with another shape (e.g. "
                   f"{m['name']} {m['shape_a']} vs {m['shape_b']}): different architectures")
    elif not al.pairs:
        out.append("the two checkpoints have no tensor name in common"
                   + ("" if by_name else " and their tensors do not line up by position and shape"))
    return out
