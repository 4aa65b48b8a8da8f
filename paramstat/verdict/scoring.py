"""Scoring of the fitted groups ('matrix', 'vector') with the packaged model
(paramstat/data/verdict_model.json, fitted by paramstat.verdict.fitting on the zoo).

- ``"type": "gbm"``: gradient-boosted depth-limited regression trees on the log-odds over scale-free
  features (paramstat.verdict.features), ``P = 1 / (1 + exp(-(b + lr * sum_t leaf_t(x))))``; the evidence
  of feature i is the sum of the node-value changes at the splits on i along x's path (Saabas 2014), so
  the evidence adds up to the log-odds.
- ``"type": "logistic"``: ``b + sum_i c_i (x_i - mean_i) / scale_i``, evidence ``c_i z_i``.
"""
from __future__ import annotations

import functools
import json
import math
from importlib import resources

import numpy as np

from .evidence import evidence_text
from .features import Features
from .results import Evidence

MODEL_FILE = "verdict_model.json"


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None) -> dict:
    """The fitted model (packaged JSON unless a path is given)."""
    if path is not None:
        with open(path) as fh:
            return json.load(fh)
    text = resources.files("paramstat").joinpath("data", MODEL_FILE).read_text()
    return json.loads(text)



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
    ev = [Evidence(k, float(xv), float(c), evidence_text(k, float(xv), feats))
          for k, xv, c in zip(names, x, contrib) if c != 0.0]
    return p, ev


def _logistic(group_model: dict, feats: Features) -> tuple[float, list[Evidence]]:
    names = group_model["features"]
    x = np.array([feats.values.get(k, 0.0) for k in names], dtype=np.float64)
    z = (x - np.asarray(group_model["mean"])) / np.asarray(group_model["scale"])
    terms = np.asarray(group_model["coef"]) * z
    logit = float(group_model["intercept"] + terms.sum())
    p = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
    ev = [Evidence(k, float(xv), float(t), evidence_text(k, float(xv), feats))
          for k, xv, t in zip(names, x, terms) if t != 0.0]
    return p, ev


def score_group(group_model: dict, feats: Features) -> tuple[float, list[Evidence]]:
    """(P(trained), evidence) of one tensor's features under its group's model (gbm or logistic)."""
    return (_gbm if group_model.get("type") == "gbm" else _logistic)(group_model, feats)
