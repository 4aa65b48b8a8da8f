"""Profile fitting: scale laws recovered from synthetic checkpoints with known laws; least squares against
statsmodels OLS; clamped prediction; spatial covariance; roles from names agree with roles from modules."""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from scipy import stats

from paramstat.errors import ParamstatError
from paramstat.init.profile import fit_profile, load_profile, lstsq_law, predict
from paramstat.init.spatialcov import spatial_cov

A, B, D, BETA = -0.2, -0.5, -0.6, 1.4     # log std = A + B log fan_in + D rel_depth; gennorm beta


def _synthetic(seed=0, family="gennorm"):
    """A stack of 16 linear layers of random widths whose std follows the law above exactly (up to
    sampling noise) and whose values are gennorm(BETA) or t(5)."""
    rng = np.random.default_rng(seed)
    widths = rng.integers(16, 100, size=17)
    sd = {}
    for i in range(16):
        fi, fo = int(widths[i]), int(widths[i + 1])
        rel = i / 15
        std = math.exp(A + B * math.log(fi) + D * rel)
        if family == "gennorm":
            d = stats.gennorm(BETA)
        else:
            d = stats.t(5)
        x = d.rvs(size=(fo, fi), random_state=rng) / d.std() * std
        sd[f"layers.{i}.weight"] = x.astype(np.float32)
    return sd


def test_scale_law_recovered_gennorm():
    p = fit_profile(_synthetic(), labels=["synthetic"])
    e = p["roles"]["linear"]
    assert e["family"] == "gennorm"
    law = e["scale_law"]
    assert law["coef"]["log_fan_in"] == pytest.approx(B, abs=0.05)
    assert law["coef"]["rel_depth"] == pytest.approx(D, abs=0.08)
    assert law["intercept"] == pytest.approx(A, abs=0.25)
    assert law["r2"] > 0.97
    # no fan_out effect was put in: its coefficient (if kept) stays small
    assert abs(law["coef"].get("log_fan_out", 0.0)) < 0.05
    beta = math.exp(e["shape_law"]["intercept"] + sum(
        c * 0.5 * sum(law["range"][f]) for f, c in e["shape_law"]["coef"].items()))
    assert beta == pytest.approx(BETA, rel=0.15)
    assert e["quality"]["ks_d_max"] < 0.05


def test_family_t_chosen_for_t_data():
    p = fit_profile(_synthetic(seed=1, family="t"), labels=["t"])
    e = p["roles"]["linear"]
    assert e["family"] == "t"
    df = math.exp(e["shape_law"]["intercept"])
    assert 3.0 < df < 9.0


def test_lstsq_law_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    rows = [{"log_fan_in": math.log(f), "rel_depth": r, "log_fan_out": math.log(o), "log_kernel": 0.0}
            for f, r, o in zip(rng.integers(10, 1000, 30), rng.random(30), rng.integers(10, 1000, 30))]
    y = np.array([0.3 - 0.5 * r["log_fan_in"] + 0.2 * r["log_fan_out"] - 1.0 * r["rel_depth"] for r in rows])
    y = y + rng.normal(0, 0.1, 30)
    law = lstsq_law(rows, y, True)
    X = sm.add_constant(np.array([[r[f] for f in ("log_fan_in", "rel_depth", "log_fan_out")] for r in rows]))
    ols = sm.OLS(y, X).fit()
    assert law["intercept"] == pytest.approx(ols.params[0], abs=1e-9)
    assert [law["coef"][f] for f in ("log_fan_in", "rel_depth", "log_fan_out")] == pytest.approx(
        list(ols.params[1:]), abs=1e-9)
    assert law["r2"] == pytest.approx(ols.rsquared, abs=1e-9)
    assert law["resid_std"] == pytest.approx(math.sqrt(ols.scale), abs=1e-9)
    assert "log_kernel" not in law["coef"]            # constant feature left out


def test_predict_clamps_and_extrapolates_fan_in():
    law = {"intercept": 1.0, "coef": {"log_fan_in": -0.3, "rel_depth": 2.0},
           "range": {"log_fan_in": [2.0, 4.0], "rel_depth": [0.0, 0.5], "log_fan_out": [0, 1], "log_kernel": [0, 0]}}
    f = {"log_fan_in": 3.0, "rel_depth": 0.25, "log_fan_out": 0.5, "log_kernel": 0.0}
    assert predict(law, f) == (pytest.approx(1.0 - 0.9 + 0.5), False)
    f2 = dict(f, rel_depth=1.0, log_fan_in=6.0)
    v, ex = predict(law, f2, fan_in_law=-0.5)
    # rel_depth clamped to 0.5; log_fan_in clamped to 4 then -0.5 per unit beyond: -0.5 * 2
    assert ex and v == pytest.approx(1.0 - 0.3 * 4.0 + 2.0 * 0.5 - 0.5 * 2.0)


def test_spatial_cov_recovered():
    rng = np.random.default_rng(0)
    k = 3
    idx = np.arange(k * k)
    yy, xx = idx // k, idx % k
    dist = np.hypot(yy[:, None] - yy[None], xx[:, None] - xx[None])
    cov = 0.6 ** dist                                                 # smooth filters
    cov = cov * np.outer(1 + 0.3 * (idx == 4), 1 + 0.3 * (idx == 4))   # larger centre tap
    w = rng.multivariate_normal(np.zeros(9), cov, size=(128, 64)).reshape(128, 64, 3, 3)
    got = np.asarray(spatial_cov([w])["3"]["cov"])
    want = cov / np.mean(np.diag(cov))
    assert np.abs(got - want).max() < 0.05


def test_roles_from_names_agree_with_modules():
    timm = pytest.importorskip("timm")
    from paramstat.init.layers import all_slots, state_dict_entries

    for name in ("vit_tiny_patch16_224", "efficientnet_lite0"):
        m = timm.create_model(name, pretrained=False)
        a = {(s.name, s.role, s.fan_in, s.fan_out, s.kernel, round(s.rel_depth, 6)) for s in all_slots(m)}
        b = {(e.name, e.role, e.fan_in, e.fan_out, e.kernel, round(e.rel_depth, 6))
             for e in state_dict_entries({k: v.numpy() for k, v in m.state_dict().items()})}
        assert a == b
        roles = {r[1] for r in a}
        assert roles >= ({"attn_q", "attn_k", "attn_v", "attn_proj", "linear", "positional", "norm_weight"}
                         if "vit" in name else {"conv", "dwconv", "pwconv", "linear", "bn_weight", "bn_bias"})


def test_profile_file_provenance_and_validation(tmp_path):
    from safetensors.numpy import save_file

    f = tmp_path / "syn.safetensors"
    save_file({k: v for k, v in list(_synthetic().items())[:8]}, str(f))
    p = fit_profile([str(f)])
    src = p["provenance"]["sources"][0]
    assert src["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert p["format"] == "paramstat-profile" and p["version"] == 1
    j = tmp_path / "p.json"
    j.write_text(json.dumps(p))
    assert load_profile(str(j))["roles"].keys() == p["roles"].keys()
    j.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ParamstatError):
        load_profile(str(j))
    with pytest.raises(ParamstatError):
        fit_profile([str(tmp_path / "missing.safetensors")])


def test_other_formats_go_through_sources(tmp_path):
    """A .npz is read by paramstat.sources.load: same tensors, same per-tensor scales as the direct path."""
    sd = dict(list(_synthetic(seed=3).items())[:6])
    f = tmp_path / "syn.npz"
    np.savez(f, **sd)
    p = fit_profile([str(f)])
    got = {t["name"]: t["scale"] for t in p["roles"]["linear"]["tensors"]}
    assert got.keys() == sd.keys()
    for k, v in sd.items():
        assert got[k] == pytest.approx(float(v.astype(np.float64).std()), rel=1e-5)


def test_conv_law_with_kernel_sizes_and_spatial_cov():
    """Convs of kernel 3 and 5 whose std is exactly 1.3/sqrt(fan_in) (fan_in = in * k^2), normal values:
    the law predicts the std at new (in, k) within 10 %, the shape is normal (gennorm beta ~ 2 or t df
    large), and the spatial covariance of i.i.d. entries is the identity."""
    rng = np.random.default_rng(11)
    sd = {}
    for i in range(14):
        cin, cout, k = int(rng.integers(8, 40)), int(rng.integers(8, 40)), (3, 5)[i % 2]
        std = 1.3 / math.sqrt(cin * k * k)
        sd[f"features.{i}.weight"] = (rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32)
    p = fit_profile(sd, labels=["conv-syn"])
    e = p["roles"]["conv"]
    law = e["scale_law"]
    for cin, k in ((10, 3), (30, 3), (12, 5), (36, 5)):
        fi = cin * k * k
        v, _ = predict(law, {"log_fan_in": math.log(fi), "rel_depth": 0.5, "log_fan_out": math.log(20 * k * k),
                             "log_kernel": math.log(k)}, fan_in_law=-0.5)
        assert math.exp(v) == pytest.approx(1.3 / math.sqrt(fi), rel=0.1)
    shape = math.exp(e["shape_law"]["intercept"] + sum(c * 0.5 * sum(law["range"][f])
                                                       for f, c in e["shape_law"]["coef"].items()))
    assert (e["family"] == "gennorm" and shape == pytest.approx(2.0, rel=0.1)) or (e["family"] == "t" and shape > 30)
    assert set(e["spatial_cov"]) == {"3", "5"}
    c3 = np.asarray(e["spatial_cov"]["3"]["cov"])
    assert np.abs(c3 - np.eye(9)).max() < 0.06                  # i.i.d. entries: identity covariance


def test_qk_alignment_recovered():
    """Mimetic structure: k = rho q + sqrt(1 - rho^2) noise per block; the fitted law gives rho back, for
    BERT-style names stored key-before-query (alphabetical) and for fused qkv."""
    from paramstat.init.layers import state_dict_entries
    from paramstat.init.profile import qk_alignment

    rng = np.random.default_rng(4)
    rho, e = 0.25, 64
    sd = {}
    for i in range(6):
        q = rng.standard_normal((e, e))
        k = rho * q + math.sqrt(1 - rho ** 2) * rng.standard_normal((e, e))
        sd[f"encoder.layer.{i}.attention.self.key.weight"] = k * 0.05
        sd[f"encoder.layer.{i}.attention.self.query.weight"] = q * 0.05
        sd[f"blocks.{i}.attn.qkv.weight"] = np.concatenate([q, k, rng.standard_normal((e, e))]) * 0.02
    qk = qk_alignment([("syn", x) for x in state_dict_entries(sd)])
    assert len(qk["rho"]) == 12
    assert np.mean(qk["rho"]) == pytest.approx(rho, abs=3 / e)       # SE of a cosine ~ 1/sqrt(e*e)
    v, _ = predict(qk["law"], {"log_fan_in": math.log(e), "rel_depth": 0.5, "log_fan_out": math.log(e),
                               "log_kernel": 0.0})
    assert v == pytest.approx(rho, abs=3 / e)


def test_spatial_cov_per_kernel_size_and_depth_band():
    """Covariance per k (3x3 and 5x5 apart) and per depth band: shallow filters with neighbour correlation
    0.8, deep ones 0.1 (AR(1)-like on the tap grid); each band recovers its own, the pooled one lies between."""
    from paramstat.init.spatialcov import band_cov, spatial_cov

    rng = np.random.default_rng(0)

    def filters(k, rho, n=3000):
        idx = np.arange(k * k)
        dist = np.hypot(idx[:, None] // k - idx[None] // k, idx[:, None] % k - idx[None] % k)
        cov = rho ** dist
        return rng.multivariate_normal(np.zeros(k * k), cov, size=n).reshape(n, 1, k, k), cov

    (a, ca), (b, cb), (c, _) = filters(3, 0.8), filters(3, 0.1), filters(5, 0.5)
    sc = spatial_cov([(a, 0.0), (a.copy(), 0.1), (b, 0.9), (b.copy(), 1.0), (c, 0.5)])
    assert set(sc) == {"3", "5"} and sc["3"]["n_tensors"] == 4 and sc["5"]["n_tensors"] == 1
    shallow, deep = band_cov(sc["3"], 0.05), band_cov(sc["3"], 1.0)
    assert np.abs(np.asarray(shallow["cov"]) - ca).max() < 0.08
    assert np.abs(np.asarray(deep["cov"]) - cb).max() < 0.08
    pooled = np.asarray(sc["3"]["cov"])[0, 1]
    assert cb[0, 1] + 0.2 < pooled < ca[0, 1] - 0.2
    assert band_cov(sc["3"], 0.5) is sc["3"]                      # middle band: too few tensors, pooled
    assert "bands" not in sc["5"]
