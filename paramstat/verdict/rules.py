"""Per-tensor and per-checkpoint verdicts: trained / untrained / undetermined (tensor), trained / untrained /
mixed, or undetermined when nothing could be decided (checkpoint), each with P(trained) and the evidence.

Scoring (paramstat/data/verdict_model.json, fitted by scripts/fit_verdict.py on the zoo):
- weight matrices ('matrix' group) and other non-constant 1-D tensors ('vector' group): gradient-boosted
  depth-limited regression trees on the log-odds over scale-free features (paramstat.features),
  ``P = 1 / (1 + exp(-(b + lr * sum_t leaf_t(x))))``; the evidence of feature i is the sum of the node-value
  changes at the splits on i along x's path (Saabas 2014), so the evidence adds up to the log-odds. A
  logistic group (``"type": "logistic"``: ``b + sum_i c_i (x_i - mean_i) / scale_i``, evidence ``c_i z_i``)
  is also understood;
- rules where the data decide exactly: a constant tensor (norm weights at 1, biases at 0, zero heads) is
  untrained; BN running statistics still exactly 0/1 never saw data; a non-constant norm weight/bias moved
  from its constant init (trained); too few values (< ``min_n``), or a weight matrix with a side < 8 (no
  spectrum, and no such trained matrix in the zoo), is ``undetermined`` with P shrunk halfway to 0.5; a
  uniform-shaped matrix with values beyond its own bound (paramstat.features.edge_smear: a uniform init whose
  edge training spread) is ``trained`` with P >= 0.95.
Verdict: ``trained`` if P >= thresholds.trained, ``untrained`` if P <= thresholds.untrained, else
``undetermined``.

Checkpoint (judge_checkpoint): over weight matrices, weighted by parameter count. ``trained`` when most
decided parameters are trained; ``mixed`` when, in addition, some weight matrices are confidently untrained
(P <= thresholds.mixed, or 'untrained' in a module whose bias is still exactly constant: no update ever
reached it, or 'untrained' after the last trained matrix in network order: a reset head) — they and the
small tensors of the same modules are listed — or when a trained minority holds >= 10% of the parameters
in >= 2 matrices (a probe trained on a frozen random body); ``undetermined`` when no tensor at all could be
decided (only tiny or too-thin tensors); ``untrained`` otherwise.
Norm layers exactly at 1/0 inside a trained net are reported per tensor (untrained) but do not make a
checkpoint ``mixed`` by themselves: a frozen affine norm, or one whose output is cancelled, legitimately
stays at its init.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .features import Features, tensor_features

MODEL_FILE = "verdict_model.json"


@dataclass
class Evidence:
    feature: str          # e.g. 'sig_ks_stat', 'robust_kurt', 'runs_z', 'spike_frac', 'bit0_dev'
    value: float
    contribution: float   # signed log-odds toward 'trained' (+) or 'untrained' (-)
    text: str             # a human sentence

    def to_dict(self) -> dict:
        return {"feature": self.feature, "value": _f(self.value), "contribution": _f(self.contribution),
                "text": self.text}


@dataclass
class TensorVerdict:
    name: str
    stored_name: str
    role: str
    shape: tuple
    dtype: str
    depth: int
    numel: int
    verdict: str          # 'trained' | 'untrained' | 'undetermined' | 'skipped'
    score: float | None   # P(trained); None when skipped
    evidence: list[Evidence] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    group: str = ""
    features: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "stored_name": self.stored_name, "role": self.role,
                "shape": list(self.shape), "dtype": self.dtype, "depth": self.depth, "numel": self.numel,
                "verdict": self.verdict, "score": _f(self.score), "group": self.group,
                "evidence": [e.to_dict() for e in self.evidence],
                "features": {k: _f(v) for k, v in self.features.items()}, "stats": self.stats}


def _f(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None) -> dict:
    """The fitted model (packaged JSON unless a path is given)."""
    if path is not None:
        with open(path) as fh:
            return json.load(fh)
    text = resources.files("paramstat").joinpath("data", MODEL_FILE).read_text()
    return json.loads(text)


def _too_few(n: int) -> str:
    return f"only {n} value{'s' if n != 1 else ''}: too few to decide"


RULE_FEATURES = ("too_few_values", "no_spectrum", "two_values", "constant", "nonfinite", "edge_smear")


def _label(p: float, th: dict) -> str:
    if p >= th["trained"]:
        return "trained"
    if p <= th["untrained"]:
        return "untrained"
    return "undetermined"


# --------------------------------------------------------------------------------------------- evidence

def _text(name: str, value: float, feats: Features) -> str:
    s = feats.stats
    sig = s.get("signature") or {}
    spec = s.get("spectral") or {}
    mom = s.get("moments") or {}
    runs = s.get("runs") or {}
    if name == "sig_ks_stat":
        return f"closest init law {sig.get('best')}: KS D={sig.get('ks_d', float('nan')):.4f} (D*sqrt(n)={10 ** value:.2f})"
    if name == "sig_scale_logratio":
        return f"std is {sig.get('scale_ratio', float('nan')):.3f}x the std of {sig.get('best')}"
    if name == "free_ks_stat":
        ff = s.get("free_fit") or {}
        return (f"shape: KS D={min(ff.get('normal_ks_d', 1), ff.get('uniform_ks_d', 1)):.4f} against a "
                f"{ff.get('best')} of its own scale")
    if name == "robust_kurt":
        return f"robust (quantile) tail weight {mom.get('robust_kurt', value):.3f} (normal 0, uniform < 0)"
    if name == "kurt":
        return f"excess kurtosis {mom.get('kurt', value):.2f} (fresh normal 0, uniform -1.2, trained 1.4-9)"
    if name == "runs_z":
        return f"runs about the median in memory order: Z={runs.get('z', value):.2f}"
    if name == "runs_r":
        return f"runs Z/sqrt(n) = {value:.4f}"
    if name == "axis_runs_z":
        return f"most negative runs Z along a conv axis: {value:.2f}"
    if name in ("spike_frac", "top_over_edge_log", "shuffle_distance") and not spec:
        return f"spectrum not measured (matrix side {feats.notes.get('no_spectrum', '?')} < 8): scored as 0"
    if name == "spike_frac":
        return (f"{spec.get('n_spikes', 0)} of {spec.get('rank', 0)} eigenvalues above the Marchenko-Pastur "
                f"edge")
    if name == "top_over_edge_log":
        return f"top eigenvalue {spec.get('top_over_edge', math.exp(value)):.2f}x the MP edge"
    if name == "shuffle_distance":
        return f"spectrum distance to the shuffled matrix {value:.3f}"
    if name == "bit0_dev":
        return f"P(fraction bit 0 = 1) = {feats.notes.get('bit0_freq', float('nan')):.3f} (fresh normal ~0.33, trained ~0.50)"
    if name == "bit1_dev":
        return f"P(fraction bit 1 = 1) = {feats.notes.get('bit1_freq', float('nan')):.3f} (fresh normal ~0.60, trained ~0.50)"
    if name == "mean_over_std":
        return f"|mean|/std = {value:.3f}"
    if name == "beyond_bound":
        return f"max |x| is {value + 1:.3f}x the U(+-1/sqrt(fan_in)) bound"
    return f"{name} = {value:.4g}"


def _gbm(group_model: dict, feats: Features) -> tuple[float, list[Evidence]]:
    """Gradient-boosted depth-limited trees (log-odds = baseline + lr * sum of leaf values). Evidence per
    feature = the sum, over trees, of the change in node value at the splits on that feature along the
    sample's path (Saabas' decomposition), so the contributions add up to logit - baseline."""
    names = group_model["features"]
    x = np.array([feats.values.get(k, 0.0) for k in names], dtype=np.float64)
    x = np.nan_to_num(x)
    lr = float(group_model["learning_rate"])
    logit = float(group_model["baseline"])
    contrib = np.zeros(len(names))
    for t in group_model["trees"]:
        left, right, feat, thr, val = t["left"], t["right"], t["feature"], t["threshold"], t["value"]
        node = 0
        while left[node] != -1:
            f = feat[node]
            nxt = left[node] if x[f] <= thr[node] else right[node]
            contrib[f] += lr * (val[nxt] - val[node])
            node = nxt
        logit += lr * val[0]
    logit += float(contrib.sum())
    p = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
    ev = [Evidence(k, float(xv), float(c), _text(k, float(xv), feats))
          for k, xv, c in zip(names, x, contrib) if c != 0.0]
    return p, ev


def _logistic(group_model: dict, feats: Features) -> tuple[float, list[Evidence]]:
    names = group_model["features"]
    x = np.array([feats.values.get(k, 0.0) for k in names], dtype=np.float64)
    z = (x - np.asarray(group_model["mean"])) / np.asarray(group_model["scale"])
    terms = np.asarray(group_model["coef"]) * z
    logit = float(group_model["intercept"] + terms.sum())
    p = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
    ev = [Evidence(k, float(xv), float(t), _text(k, float(xv), feats))
          for k, xv, t in zip(names, x, terms) if t != 0.0]
    return p, ev


# ----------------------------------------------------------------------------------------------- judge

def judge_features(record, feats: Features, model: dict | None = None) -> TensorVerdict:
    """Score precomputed features (used by judge_tensor and by scripts/fit_verdict.py)."""
    model = model or load_model()
    th = model["thresholds"]
    min_n = model.get("min_n", {"matrix": 512, "vector": 16, "norm": 8})
    n = int(feats.notes.get("n", record.numel))
    tv = TensorVerdict(record.name, record.stored_name, record.role, tuple(record.shape), record.dtype,
                       record.depth, record.numel, "skipped", None, [], feats.stats, feats.group,
                       dict(feats.values))
    g = feats.group
    if g == "skipped":
        tv.stats = {"nonfinite": feats.stats.get("nonfinite", 0)}
        return tv
    ev: list[Evidence] = []
    nonfinite = int(feats.stats.get("nonfinite", 0))
    if nonfinite:
        ev.append(Evidence("nonfinite", nonfinite, 0.0, f"{nonfinite} NaN/Inf values (scored on the rest)"))
    if feats.notes.get("all_nonfinite"):
        p = 0.5
        ev.append(Evidence("nonfinite", nonfinite, 0.0, "every value is NaN/Inf: nothing to judge"))
        tv.verdict = "undetermined"
    elif "constant" in feats.notes:
        c = feats.notes["constant"]
        if n >= 4:
            p = 0.02
            ev.append(Evidence("constant", c, -4.0, f"all {n} values exactly {c:g}: still at a constant init"))
        else:
            p = 0.5
            ev.append(Evidence("constant", c, 0.0, f"only {n} values, all {c:g}: too few to decide"))
    elif "two_values" in feats.notes:
        a, b = feats.notes["two_values"]
        p = 0.5
        if n < min_n.get(g, 16):
            ev.append(Evidence("too_few_values", float(n), 0.0, _too_few(n)))
        else:
            ev.append(Evidence("two_values", float(n), 0.0,
                               f"only two distinct values ({a:g}, {b:g}): a mask or binarised tensor, not judged"))
        tv.verdict = "undetermined"
    elif g == "running_stat":
        p = model.get("running_stat_moved_p", 0.85)
        ev.append(Evidence("running_stat_moved", 1.0, 1.7,
                           "running statistics moved from their 0/1 init: forward passes in train mode saw data"))
    elif g == "norm":
        p = 0.95 if n >= min_n.get("norm", 8) else 0.5
        ev.append(Evidence("norm_moved", 1.0, 2.9 if p > 0.5 else 0.0,
                           "not constant: moved from a constant init (norm scale/shift 1/0, PReLU slope 0.25)" +
                           ("" if p > 0.5 else f" (only {n} values)")))
    else:
        gm = model["groups"][g]
        p, terms = (_gbm if gm.get("type") == "gbm" else _logistic)(gm, feats)
        ev += terms
        if n < min_n.get(g, 64):
            ev.append(Evidence("too_few_values", n, 0.0, _too_few(n)))
            p = 0.5 + (p - 0.5) * 0.5
            tv.verdict = "undetermined"
        elif "edge_smear" in feats.notes:
            es = feats.notes["edge_smear"]
            ev.append(Evidence("edge_smear", float(es["count"]), 3.0,
                               f"uniform body (kurtosis {es['kurt']:.2f}) with {es['count']:,} of {es['n']:,} values "
                               f"beyond its own bound 2 median|x| = {es['bound']:.4g}: a fresh uniform init has none"))
            p = max(p, 0.95)
        if "no_spectrum" in feats.notes and tv.verdict != "undetermined" and "edge_smear" not in feats.notes:
            # the spectrum carries most of the matrix model's weight and the zoo holds no trained matrix this thin
            ev.append(Evidence("no_spectrum", feats.notes["no_spectrum"], 0.0,
                               f"a side of only {feats.notes['no_spectrum']} rows/columns: no spectrum, too thin to decide"))
            p = 0.5 + (p - 0.5) * 0.5
            tv.verdict = "undetermined"
    ev.sort(key=lambda e: (e.feature not in RULE_FEATURES, -abs(e.contribution)))  # a deciding rule first
    tv.evidence, tv.score = ev, float(p)
    if tv.verdict != "undetermined":
        tv.verdict = _label(p, th)
    return tv


def judge_tensor(record, raw: np.ndarray, model: dict | None = None) -> TensorVerdict:
    """Compute the features of one tensor and score them (see the module docstring)."""
    if not record.analysable:
        return judge_features(record, Features("skipped", notes={"n": record.numel}), model)
    return judge_features(record, tensor_features(record, raw), model)


def _module(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def judge_checkpoint(tensors: list[TensorVerdict], model: dict | None = None) -> tuple[str, float, list[str]]:
    """(verdict, P(trained), names of the never-trained tensors that make it 'mixed').

    Weighted by parameter count over the weight matrices ('matrix' group; all analysed tensors when
    there are none). ``trained`` when most decided parameters are trained and no matrix has
    P <= thresholds.mixed (nor is 'untrained' beside a bias still exactly constant); ``mixed`` when such
    matrices exist (or 'untrained' ones after the last trained matrix), or when a trained minority holds
    >= 10% of the parameters in >= 2 matrices; ``undetermined`` when no tensor was decided; ``untrained``
    otherwise."""
    model = model or load_model()
    th = model["thresholds"]
    judged = [t for t in tensors if t.verdict != "skipped" and t.score is not None]
    mats = [t for t in judged if t.group == "matrix"] or [t for t in judged if t.role != "running_stat"] or judged
    if not mats:
        return "undetermined", 0.5, []
    w = np.array([t.numel for t in mats], dtype=np.float64)
    s = np.array([t.score for t in mats], dtype=np.float64)
    score = float((w * s).sum() / w.sum())
    if not any(t.verdict in ("trained", "untrained") for t in judged):
        # nothing could be decided (tiny or too-thin tensors only): no confident guess
        return "undetermined", score, []
    is_tr = np.array([t.verdict == "trained" for t in mats])
    is_un = np.array([t.verdict == "untrained" for t in mats])
    trained_w, untrained_w = float(w[is_tr].sum()), float(w[is_un].sum())
    decided = trained_w + untrained_w
    frac_trained = trained_w / decided if decided > 0 else score
    if frac_trained >= 0.5:
        # a bias still exactly constant in a trained net never received an update: an 'untrained' matrix of
        # the same module is then decisive even above the 'mixed' threshold (e.g. an unused pooler)
        frozen = {_module(t.name) for t in judged if t.role == "bias" and t.verdict == "untrained"
                  and any(e.feature == "constant" for e in t.evidence)}
        # the head is the usual victim (new classes, strict=False): an 'untrained' matrix after the last
        # trained one in network order is decisive even above the 'mixed' threshold
        last_tr = max((i for i, t in enumerate(mats) if t.verdict == "trained"), default=-1)
        bad = [t for i, t in enumerate(mats) if t.score <= th.get("mixed", 0.1)
               or (t.verdict == "untrained" and (_module(t.name) in frozen or i > last_tr))]
        if not bad:
            return "trained", score, []
    elif trained_w >= 0.1 * w.sum() and int(is_tr.sum()) >= 2:
        # a trained minority (e.g. a probe on a frozen random body): list the untrained matrices
        bad = [t for t, u in zip(mats, is_un) if u]
    else:
        return "untrained", score, []
    mods = {_module(t.name) for t in bad}
    names = [t.name for t in bad]
    bad_ids = {id(t) for t in bad}
    names += [t.name for t in judged if t.group != "matrix" and id(t) not in bad_ids and _module(t.name) in mods
              and t.verdict in ("untrained", "undetermined")]
    order = {t.name: i for i, t in enumerate(tensors)}
    names.sort(key=lambda n: order.get(n, 0))
    return "mixed", score, names
