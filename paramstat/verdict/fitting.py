"""Fitting the verdict model on a feature table (one row per tensor: ``f_<feature>`` columns, ``group``,
``label``, ``numel``, ``constant``, ``kind``, ``id``, ``family``; datasets/zoo/features.csv.gz), and the
held-out evaluation. No I/O: scripts/data/fit_verdict.py reads the table and writes the model.

Model per fitted group ('matrix', 'vector'), either
- ``"gbm"`` (the packaged one): scikit-learn ``GradientBoostingClassifier`` (depth 3 for matrices, 2 for
  vectors, 150 trees, learning rate 0.1, subsample 0.8, random_state 0) on the log-odds, exported as plain
  arrays (children, feature, threshold, node value) that paramstat.verdict.scoring walks in numpy; or
- ``"logistic"``: L2-regularised logistic regression on standardised features by Newton's method (IRLS).
Both with class-balanced sample weights: each class carries half the weight; within a class, each
checkpoint carries equal weight, so big fresh models do not drown small trained nets. The rules (constants,
norms, running stats, too few values, edge smear, no spectrum) are paramstat.verdict.rules' and need no fit.
Style of scikit-learn's estimators: ``VerdictFit(...).fit(table)`` sets the ``_``-suffixed state and
returns ``self``.
"""
from __future__ import annotations

import datetime

import numpy as np

from .features import MATRIX_FEATURES, VECTOR_FEATURES
from .rules import MIN_N, RUNNING_STAT_MOVED_P, rule_scores

THRESHOLDS = {"trained": 0.8, "untrained": 0.2, "mixed": 0.05}
# bit-frequency features are reported but not scored: the packaged ImageNet EfficientNet-Lite0 (trained)
# shows P(bit0)=0.1-0.35 like fresh kaiming_normal tensors, so the low-bit bias reflects the number
# format's history more than training
EXCLUDED = ("bit0_dev", "bit1_dev")
GROUPS = (("matrix", MATRIX_FEATURES, 3), ("vector", VECTOR_FEATURES, 2))   # (group, features, tree depth)
TRUTH_BY_KIND = {"fresh": "untrained", "init": "untrained", "trained": "trained", "headreset": "mixed",
                 "frozen": "mixed", "blockreset": "mixed", "fewsteps": None}


def sample_weights(df) -> np.ndarray:
    """Class-balanced weights: each label half the total, each checkpoint equal within its label."""
    w = np.zeros(len(df))
    for lab in ("trained", "untrained"):
        m = (df["label"] == lab).to_numpy()
        if not m.any():
            continue
        per_ckpt = df.loc[m, "id"].map(df.loc[m, "id"].value_counts()).to_numpy()
        wi = 1.0 / per_ckpt
        w[m] = 0.5 * wi / wi.sum()
    return w * len(df)


def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0, iters: int = 50):
    """Weighted L2 logistic regression by Newton's method (IRLS). Returns (intercept, coef)."""
    n, d = X.shape
    A = np.hstack([np.ones((n, 1)), X])
    beta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[0] = 0.0
    for _ in range(iters):
        eta = np.clip(A @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        g = A.T @ (w * (p - y)) + reg * beta
        H = (A * (w * p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return float(beta[0]), beta[1:]


def _X(df, feats) -> np.ndarray:
    return np.nan_to_num(df[[f"f_{k}" for k in feats]].to_numpy(dtype=np.float64))


def fit_group_logistic(df, feats: list[str], l2: float = 1.0) -> dict:
    X = _X(df, feats)
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-9] = 1.0
    y = (df["label"] == "trained").to_numpy(dtype=np.float64)
    b, c = fit_logistic((X - mean) / scale, y, sample_weights(df), l2)
    return {"features": list(feats), "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
            "coef": np.round(c, 5).tolist(), "intercept": round(b, 5), "n_train": int(len(df)),
            "n_trained": int(y.sum())}


def fit_group_gbm(df, feats: list[str], depth: int, n_trees: int, lr: float = 0.1) -> dict:
    """Gradient-boosted regression trees on the log-odds (scikit-learn), exported as plain arrays."""
    from sklearn.ensemble import GradientBoostingClassifier

    X = _X(df, feats)
    y = (df["label"] == "trained").to_numpy()
    clf = GradientBoostingClassifier(max_depth=depth, n_estimators=n_trees, learning_rate=lr, subsample=0.8,
                                     random_state=0)
    clf.fit(X, y, sample_weight=sample_weights(df))
    trees = []
    for est in clf.estimators_[:, 0]:
        t = est.tree_
        trees.append({"left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "feature": [int(f) if f >= 0 else -1 for f in t.feature],
                      "threshold": [float(v) for v in t.threshold], "value": [float(v) for v in t.value[:, 0, 0]]})
    raw = clf.decision_function(X[:1])[0]
    baseline = float(raw - lr * sum(tr["value"][_leaf(tr, X[0])] for tr in trees))
    return {"type": "gbm", "features": list(feats), "learning_rate": lr, "baseline": baseline,
            "max_depth": depth, "trees": trees, "n_train": int(len(df)), "n_trained": int(y.sum()),
            "importance": dict(zip(feats, np.round(clf.feature_importances_, 4).tolist()))}


def _leaf(tree: dict, x: np.ndarray) -> int:
    node = 0
    while tree["left"][node] != -1:
        node = tree["left"][node] if x[tree["feature"][node]] <= tree["threshold"][node] else tree["right"][node]
    return node


def predict_group(gm: dict, df) -> np.ndarray:
    """P(trained) of each row under one group's model, before the rules."""
    X = _X(df, gm["features"])
    if gm.get("type") == "gbm":
        raw = np.full(len(X), gm["baseline"])
        for tr in gm["trees"]:
            raw += gm["learning_rate"] * np.array([tr["value"][_leaf(tr, x)] for x in X])
        return 1 / (1 + np.exp(-np.clip(raw, -50, 50)))
    z = (X - np.asarray(gm["mean"])) / np.asarray(gm["scale"])
    return 1 / (1 + np.exp(-np.clip(gm["intercept"] + z @ np.asarray(gm["coef"]), -50, 50)))


def fittable(df, group: str, min_n: dict = MIN_N):
    """Rows the model learns from: non-constant, enough values, a clear label, and not a few-step run
    (its 'trained' tensors sit a few optimizer steps from their init: label noise for the fit)."""
    m = ((df["group"] == group) & (~df["constant"].astype(bool)) & df["label"].isin(["trained", "untrained"])
         & (df["numel"] >= min_n[group]) & (df["kind"] != "fewsteps"))
    return df[m]


class VerdictFit:
    """The verdict model fitted on a feature table; ``model_`` is the JSON-able dict that
    paramstat/data/verdict_model.json holds (``fitted`` is the date written into it; today when None)."""

    def __init__(self, model_type: str = "gbm", n_trees: int = 150, l2: float = 1.0, thresholds: dict | None = None,
                 min_n: dict | None = None, excluded: tuple = EXCLUDED, fitted: str | None = None):
        self.model_type, self.n_trees, self.l2 = model_type, n_trees, l2
        self.thresholds = dict(thresholds or THRESHOLDS)
        self.min_n = dict(min_n or MIN_N)
        self.excluded, self.fitted = tuple(excluded), fitted

    def fit(self, table) -> VerdictFit:
        groups = {}
        for g, feats, depth in GROUPS:
            feats = [f for f in feats if f not in self.excluded]
            sub = fittable(table, g, self.min_n)
            groups[g] = (fit_group_gbm(sub, feats, depth, self.n_trees) if self.model_type == "gbm"
                         else fit_group_logistic(sub, feats, self.l2))
        self.groups_ = groups
        self.model_ = {"version": 2, "kind": f"{self.model_type} per group over scale-free features "
                                             "(paramstat.verdict.fitting)",
                       "fitted": self.fitted or datetime.date.today().isoformat(), "thresholds": self.thresholds,
                       "min_n": self.min_n, "running_stat_moved_p": RUNNING_STAT_MOVED_P, "groups": groups}
        return self

    def score(self, table):
        """``table`` with ``score`` (P(trained)) and ``verdict`` per row, rules included."""
        return score_rows(table, self.model_)


def score_rows(df, model: dict):
    """P(trained) and verdict per row: the group models, then paramstat.verdict.rules.rule_scores."""
    g = df["group"].to_numpy()
    const = df["constant"].astype(bool).to_numpy()
    model_p = np.full(len(df), 0.5)
    for grp in ("matrix", "vector"):
        m = (g == grp) & ~const
        if m.any():
            model_p[m] = predict_group(model["groups"][grp], df[m])
    edge = (df["edge_smear"].fillna(False).astype(bool).to_numpy() if "edge_smear" in df
            else np.zeros(len(df), dtype=bool))
    # no spectrum measured (a side < 8): the three spectral features are exactly 0
    no_spec = ((df["f_top_over_edge_log"] == 0) & (df["f_shuffle_distance"] == 0)
               & (df["f_spike_frac"] == 0)).to_numpy()
    p, verdict = rule_scores(g, df["numel"].to_numpy(), const, model_p, edge, no_spec, model)
    out = df.copy()
    out["score"], out["verdict"] = p, verdict
    return out


def leave_family_out(df, **fit_kw):
    """Every architecture family scored by a model fitted without it (rules included)."""
    import pandas as pd

    parts = []
    for fam in sorted(df["family"].unique()):
        model = VerdictFit(**fit_kw).fit(df[df["family"] != fam]).model_
        parts.append(score_rows(df[df["family"] == fam], model))
    return pd.concat(parts)


def checkpoint_verdicts(scored, model: dict, truth_by_kind: dict = TRUTH_BY_KIND):
    """judge_checkpoint on each checkpoint's scored rows, beside the truth of its kind."""
    import pandas as pd

    from .checkpoint import judge_checkpoint
    from .results import Evidence, TensorVerdict

    rows = []
    for i, d in scored.groupby("id", sort=False):
        tvs = [TensorVerdict(r.name, r.name, r.role, (), r.dtype, 0, int(r.numel), r.verdict, float(r.score),
                             evidence=[Evidence("constant", 0.0, -4.0, "")] if r.constant and r.numel >= 4 else [],
                             group=r.group) for r in d.itertuples()]
        v, s, names = judge_checkpoint(tvs, model)
        rows.append({"id": i, "family": d["family"].iloc[0], "kind": d["kind"].iloc[0],
                     "truth": truth_by_kind.get(d["kind"].iloc[0]), "verdict": v, "score": s, "n_listed": len(names),
                     "listed_truly_untrained": int(sum(d.set_index("name").loc[names, "label"].eq("untrained")))
                     if names else 0,
                     "n_untrained_matrices": int(((d["group"] == "matrix") & (d["label"] == "untrained")).sum())})
    return pd.DataFrame(rows)


def confusion(d, weight: str | None = None):
    """truth x verdict counts (or sums of ``weight``) over the rows labelled trained / untrained."""
    import pandas as pd

    d = d[d["label"].isin(["trained", "untrained"])]
    w = d[weight] if weight else pd.Series(1, index=d.index)
    t = pd.crosstab(d["label"], d["verdict"], values=w, aggfunc="sum").fillna(0)
    for c in ("trained", "untrained", "undetermined"):
        if c not in t.columns:
            t[c] = 0
    return t[["trained", "untrained", "undetermined"]]


def accuracy(d, weight: str | None = None) -> tuple[float, float]:
    """(accuracy on the decided rows, coverage = decided share), optionally weighted."""
    d = d[d["label"].isin(["trained", "untrained"])]
    w = d[weight].to_numpy(dtype=float) if weight else np.ones(len(d))
    dec = (d["verdict"] != "undetermined").to_numpy()
    ok = (d["verdict"] == d["label"]).to_numpy()
    cov = w[dec].sum() / w.sum()
    acc = (w * ok)[dec].sum() / max(w[dec].sum(), 1e-30)
    return acc, cov
