"""The committed zoo features, the fitted model and the fitting code agree with paramstat.verdict."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paramstat.record import TensorRecord
from paramstat.verdict import judge_checkpoint, judge_features, load_model
from paramstat.verdict.features import Features

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "datasets" / "zoo" / "features.csv.gz"


@pytest.fixture(scope="module")
def zoo():
    if not FEATURES.exists():
        pytest.skip("datasets/zoo/features.csv.gz not built")
    df = pd.read_csv(FEATURES)
    df["constant"] = df["constant"].astype(bool)
    return df


@pytest.fixture(scope="module")
def fv():
    from paramstat.verdict import fitting

    return fitting


def _features(row) -> Features:
    vals = {k[2:]: float(v) for k, v in row.items() if k.startswith("f_") and isinstance(v, float) and not math.isnan(v)}
    notes = {"n": int(row["numel"])}
    if row["constant"]:
        notes["constant"] = float(row["const_value"])
        vals = {}
    return Features(row["group"], vals if row["group"] in ("matrix", "vector") else {}, {}, notes)


def test_script_scoring_matches_judge_features(zoo, fv):
    """fitting.score_rows (vectorised rules.rule_scores, used for the held-out figures) == rules.judge_features."""
    model = load_model()
    sample = pd.concat([d.sample(min(len(d), 60), random_state=0) for _, d in zoo.groupby("group")])
    scored = fv.score_rows(sample, model)
    for _, row in scored.iterrows():
        rec = TensorRecord(row["name"], row["name"], row["dtype"], (int(row["numel"]),), row["role"], 0)
        tv = judge_features(rec, _features(row), model)
        assert tv.score == pytest.approx(row["score"], abs=1e-9), row["name"]
        assert tv.verdict == row["verdict"], (row["id"], row["name"])


@pytest.mark.slow
def test_zoo_labels_and_model_fit(zoo):
    """The final model separates the zoo's weight matrices (in-sample sanity: far better than chance)."""
    from paramstat.verdict.scoring import _gbm

    model = load_model()
    mats = zoo[(zoo["group"] == "matrix") & ~zoo["constant"] & zoo["label"].isin(["trained", "untrained"])
               & (zoo["kind"] != "fewsteps") & (zoo["numel"] >= 64)]
    p = np.array([_gbm(model["groups"]["matrix"], _features(r))[0] for _, r in mats.iterrows()])
    y = (mats["label"] == "trained").to_numpy()
    assert ((p >= 0.5) == y).mean() > 0.95
    # every fresh / init checkpoint of the zoo: 'untrained' at checkpoint level with the final model
    from paramstat.verdict import TensorVerdict
    from paramstat.verdict.fitting import score_rows

    scored = score_rows(zoo[zoo["kind"].isin(["fresh", "init"])], model)
    for i, d in scored.groupby("id"):
        tvs = [TensorVerdict(r.name, r.name, r.role, (), r.dtype, 0, int(r.numel), r.verdict, float(r.score),
                             group=r.group) for r in d.itertuples()]
        assert judge_checkpoint(tvs, model)[0] == "untrained", i


def test_manifest_matches_features(zoo):
    man = json.loads((ROOT / "datasets" / "zoo" / "manifest.json").read_text())["entries"]
    assert set(zoo["id"]) <= set(man)
    assert {"fresh", "init", "trained", "headreset", "frozen", "blockreset"} <= {e["kind"] for e in man.values()}
    # reset heads are labelled untrained
    hr = zoo[(zoo["id"] == "lite0_imagenet_headreset") & zoo["name"].isin(["_fc.weight", "_fc.bias"])]
    assert set(hr["label"]) == {"untrained"}
