"""paramstat.verdict.fitting: IRLS against statsmodels, the estimator contract, and the refit of the
packaged model from the committed zoo features."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paramstat.verdict import fitting

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "datasets" / "zoo" / "features.csv.gz"


def test_irls_matches_statsmodels_logit():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.3 + X @ [1.0, -2.0, 0.5])))).astype(float)
    b, c = fitting.fit_logistic(X, y, np.ones(len(y)), l2=0.0)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0).params
    np.testing.assert_allclose([b, *c], ref, rtol=1e-6, atol=1e-8)
    # an L2 penalty shrinks the coefficients (and only them)
    _, c2 = fitting.fit_logistic(X, y, np.ones(len(y)), l2=50.0)
    assert np.linalg.norm(c2) < np.linalg.norm(c)


def test_sample_weights_balance_classes_and_checkpoints():
    df = pd.DataFrame({"label": ["trained"] * 3 + ["untrained"] * 5, "id": list("aab") + list("ccccd")})
    w = fitting.sample_weights(df)
    assert w[:3].sum() == pytest.approx(w[3:].sum())             # each class half
    assert w[0] + w[1] == pytest.approx(w[2])                    # each checkpoint equal within its class
    assert w[3:7].sum() == pytest.approx(w[7])
    assert w.sum() == pytest.approx(len(df))


def _zoo():
    df = pd.read_csv(FEATURES)
    df["constant"] = df["constant"].astype(bool)
    return df


def test_fit_returns_self_and_leaves_the_table_alone():
    df = _zoo()
    part = df[df["family"].isin(sorted(df["family"].unique())[:6])].copy()
    before = part.copy()
    est = fitting.VerdictFit(model_type="logistic", fitted="2000-01-01")
    assert est.fit(part) is est
    pd.testing.assert_frame_equal(part, before)
    m = est.model_
    assert set(m["groups"]) == {"matrix", "vector"} and m["fitted"] == "2000-01-01"
    assert not set(fitting.EXCLUDED) & set(m["groups"]["matrix"]["features"])
    scored = est.score(part)
    assert scored["score"].between(0, 1).all()
    assert set(scored["verdict"]) <= {"trained", "untrained", "undetermined"}


@pytest.mark.slow
def test_refit_reproduces_the_packaged_model():
    """The packaged model is VerdictFit().fit(zoo features): every number equal (only 'kind' names the code)."""
    packaged = json.loads((ROOT / "paramstat" / "data" / "verdict_model.json").read_text())
    model = fitting.VerdictFit(fitted=packaged["fitted"]).fit(_zoo()).model_
    model = json.loads(json.dumps(model))          # as written to disk
    assert {k: v for k, v in model.items() if k != "kind"} == {k: v for k, v in packaged.items() if k != "kind"}
