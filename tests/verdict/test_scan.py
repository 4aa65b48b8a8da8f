"""paramstat.verdict (scan loop, results, layer types, plot data): orchestration, Table-3 aggregation, JSON layout, DataFrame, plots, --h5 stats.

The aggregation tests use a stub judge (the real TensorVerdict with bit statistics from paramstat.stats.bits, a fixed verdict) on a
tiny synthetic checkpoint, and check the Table-3 numbers against statsmodels' runs test computed bit by
bit here (independent oracle)."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import paramstat.verdict.stream as stream
from paramstat.record import Checkpoint, TensorRecord
from paramstat.verdict import Evidence as Ev
from paramstat.verdict import TensorVerdict as TV
from paramstat.verdict import layer_types as LT
from paramstat.verdict import plotdata as PD
from paramstat.verdict import results as R

UNTRAINED = {"fc.weight", "fc.bias"}


def stub_judge(rec, raw):
    from paramstat.stats.bits import bit_tests

    if not rec.analysable:
        return TV(rec.name, rec.stored_name, rec.role, rec.shape, rec.dtype, rec.depth, rec.numel, "skipped", None)
    x = np.asarray(raw, dtype=np.float64)
    bits = bit_tests(raw.reshape(-1), rec.dtype).summary() if x.min() != x.max() else None
    v = "untrained" if rec.name in UNTRAINED else "trained"
    s = 0.1 if v == "untrained" else 0.9
    ev = [Ev("kurt", 3.0, 1.5 if v == "trained" else -1.5, f"{rec.name}: excess kurtosis 3.0")]
    return TV(rec.name, rec.stored_name, rec.role, rec.shape, rec.dtype, rec.depth, rec.numel, v, s, ev,
              {"bits": bits, "moments": {"mean": float(x.mean()), "std": float(x.std())}, "spectral": None})


def stub_checkpoint(tensors):
    un = [t.name for t in tensors if t.verdict == "untrained"]
    return ("mixed" if un else "trained"), 0.8, un


def _rec(name, arr, role, depth, module_type=None, dtype=None):
    arr = np.ascontiguousarray(arr)
    return TensorRecord(name=name, stored_name="module." + name, dtype=dtype or str(arr.dtype),
                        shape=tuple(arr.shape), role=role, depth=depth, module_type=module_type,
                        fan_in=int(np.prod(arr.shape[1:])) if arr.ndim > 1 else None, reader=lambda a=arr: a)


def tiny_checkpoint(seed=0):
    rng = np.random.default_rng(seed)
    f = np.float32
    recs = [
        _rec("conv1.weight", rng.normal(0, 0.1, (8, 3, 3, 3)).astype(f), "conv", 0, "Conv2d"),
        _rec("bn1.weight", rng.uniform(0.5, 1.5, 8).astype(f), "norm_weight", 1),
        _rec("bn1.bias", rng.normal(0, 0.1, 8).astype(f), "norm_bias", 2),
        _rec("bn1.running_mean", rng.normal(0, 1, 8).astype(f), "running_stat", 3),
        _rec("bn1.num_batches_tracked", np.array(7, dtype=np.int64), "other", 4),
        _rec("conv2.weight", rng.laplace(0, 0.05, (16, 8, 3, 3)).astype(f), "conv", 5, "Conv2d"),
        _rec("bn2.weight", np.ones(16, f), "norm_weight", 6, "BatchNorm2d"),
        _rec("fc.weight", rng.uniform(-0.1, 0.1, (10, 16)).astype(f), "linear", 7, "Linear"),
        _rec("fc.bias", rng.uniform(-0.1, 0.1, 10).astype(f), "bias", 8),
    ]
    return Checkpoint("tiny", "test", recs, provenance={"note": "synthetic"}, warnings=["a warning"])


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(stream, "judge_tensor", stub_judge)
    monkeypatch.setattr(stream, "judge_checkpoint", stub_checkpoint)


def test_layer_types_follow_seed_names():
    lt = LT.layer_types(tiny_checkpoint().records)
    assert lt["conv1.weight"] == "Conv weight"
    assert lt["bn1.weight"] == "BN weight"          # from the running_mean sibling
    assert lt["bn1.bias"] == "BN bias"
    assert lt["bn2.weight"] == "BN weight"          # from module_type
    assert lt["bn1.running_mean"] == "BN running_mean"
    assert lt["fc.weight"] == "FC weight"
    assert lt["fc.bias"] == "FC bias"               # bias named after its weight's role
    assert lt["bn1.num_batches_tracked"] == "BN batch count"
    # a PReLU slope is a 1-D 'weight' (role norm_weight) but not a norm: named by its module or its name
    prelu = TensorRecord("prelu1.weight", "prelu1.weight", "float32", (10,), "norm_weight", 0)
    prelu_mod = TensorRecord("act.weight", "act.weight", "float32", (10,), "norm_weight", 1, module_type="PReLU")
    ln = TensorRecord("norm.weight", "norm.weight", "float32", (10,), "norm_weight", 2)
    lt2 = LT.layer_types([prelu, prelu_mod, ln])
    assert lt2 == {"prelu1.weight": "PReLU slope", "act.weight": "PReLU slope", "norm.weight": "Norm weight"}


def _oracle_bit_z(arr: np.ndarray) -> np.ndarray:
    """|runs Z| per bit with statsmodels (correction=False); NaN for constant bits."""
    from statsmodels.sandbox.stats.runs import runstest_1samp

    u = np.ascontiguousarray(arr).reshape(-1).view(np.uint32)
    out = np.full(32, np.nan)
    for b in range(32):
        bit = ((u >> np.uint32(b)) & 1).astype(float)
        if 0 < bit.sum() < bit.size:
            out[b] = abs(runstest_1samp(bit, cutoff=0.5, correction=False)[0])
    return out


def test_table3_aggregation_matches_statsmodels(stubbed):
    ckpt = tiny_checkpoint()
    res = stream.scan(ckpt, progress=False)
    rows = {r.layer_type: r for r in res.layer_type_table()}
    assert list(rows)[:2] == ["Conv weight", "FC weight"]        # seed's order: Conv, FC, BN
    conv = rows["Conv weight"]
    assert conv.n_layers == 2 and conv.counts == {"trained": 2}
    assert conv.group_labels == ["frac 0-7", "frac 8-15", "frac 16-22"]
    zs = [_oracle_bit_z(ckpt[n].read()) for n in ("conv1.weight", "conv2.weight")]
    for j, (lo, hi) in enumerate(((0, 7), (8, 15), (16, 22))):
        expect = max(np.nanmax(z[lo:hi + 1]) for z in zs)
        assert conv.group_max_z[j] == pytest.approx(expect, rel=1e-9)
    allz = np.concatenate([z[:23] for z in zs])
    assert conv.mean_abs_z == pytest.approx(np.nanmean(allz), rel=1e-9)
    # BN weight: bn1 has bits, bn2 is constant 1 (no Z at all) but is still a layer
    bn = rows["BN weight"]
    assert bn.n_layers == 2
    z = _oracle_bit_z(ckpt["bn1.weight"].read())
    assert bn.group_max_z[2] == pytest.approx(np.nanmax(z[16:23]), rel=1e-9)
    assert rows["FC bias"].counts == {"untrained": 1}
    assert rows["BN batch count"].n_layers == 0 and rows["BN batch count"].counts == {"skipped": 1}


def test_table3_hand_computed_constant_bits():
    """mean |Z| weights every non-constant fraction bit equally: (2*3 + 4*1) / (3+1) ... by hand."""
    bits_a = {"frac_0_7": {"max_abs_z": 3.0, "mean_abs_z": 2.0, "n_constant": 5},     # 3 live bits, mean 2
              "frac_8_15": {"max_abs_z": 1.0, "mean_abs_z": 1.0, "n_constant": 7},    # 1 live bit
              "frac_16_22": {"max_abs_z": float("nan"), "mean_abs_z": float("nan"), "n_constant": 7}}
    bits_b = {"frac_0_7": {"max_abs_z": 5.0, "mean_abs_z": 4.0, "n_constant": 7},     # 1 live bit, 4
              "frac_8_15": {"max_abs_z": 0.5, "mean_abs_z": 0.5, "n_constant": 7},
              "frac_16_22": {"max_abs_z": 2.5, "mean_abs_z": 2.5, "n_constant": 6}}
    t = [TV("a", "a", "conv", (2, 2), "float32", 0, 4, "trained", 0.9, [], {"bits": bits_a}),
         TV("b", "b", "conv", (2, 2), "float32", 1, 4, "untrained", 0.2, [], {"bits": bits_b})]
    res = R.ScanResult("x", "t", "mixed", 0.5, 8, t, ["b"], layer_types={"a": "Conv weight", "b": "Conv weight"})
    (row,) = res.layer_type_table()
    assert row.group_max_z == [5.0, 1.0, 2.5]
    assert row.mean_abs_z == pytest.approx((2.0 * 3 + 1.0 * 1 + 4.0 * 1 + 0.5 * 1 + 2.5 * 1) / 7)
    assert row.counts == {"trained": 1, "untrained": 1}


def test_json_layout_and_dataframe(stubbed):
    from paramstat.report.jsonout import dumps

    res = stream.scan(tiny_checkpoint(), progress=False)
    d = json.loads(dumps(res.to_dict()))
    assert d["verdict"] == "mixed" and d["score"] == 0.8
    assert d["n_params"] == 216 + 8 + 8 + 1152 + 16 + 160 + 10
    assert d["untrained"] == ["fc.weight", "fc.bias"]
    assert [t["name"] for t in d["tensors"]] == tiny_checkpoint().names()
    t0 = d["tensors"][0]
    for key in ("name", "role", "shape", "dtype", "verdict", "score", "evidence", "stats", "layer_type"):
        assert key in t0
    assert t0["shape"] == [8, 3, 3, 3] and t0["evidence"][0]["feature"] == "kurt"
    assert {"load", "analysis", "total"} <= set(d["timings"])
    df = res.to_dataframe()
    assert len(df) == 9 and list(df["verdict"]).count("untrained") == 2
    z = _oracle_bit_z(tiny_checkpoint()["conv1.weight"].read())
    assert df.loc[df.name == "conv1.weight", "stats.bits.frac_0_7.max_abs_z"].iloc[0] == pytest.approx(
        np.nanmax(z[:8]), rel=1e-9)
    assert df["stats.moments.mean"].notna().sum() == 8


def test_flatten_stats():
    f = R.flatten_stats({"a": {"b": 1.5, "c": None, "d": [1, 2, None]}, "e": "x", "f": [{"g": 2}], "h": True})
    assert f["a.b"] == 1.5 and "a.c" not in f and f["e"] == "x" and f["f.0.g"] == 2 and f["h"] is True
    np.testing.assert_array_equal(f["a.d"], [1.0, 2.0, np.nan])


def test_plot_spectrum_is_the_scored_one():
    """The plot draws the spectrum the verdict scored: same crop, sigma^2 = sum(W^2)/(NM) (uncentred), edge,
    spike count; the MP curve integrates to 1 (scipy quad) and eigenvalues match numpy's SVD."""
    from scipy.integrate import quad

    from paramstat.verdict import features as F

    w = np.random.default_rng(0).normal(0.3, 1, (400, 100)).astype(np.float32)
    sd = PD.spectrum_data("w", "untrained", w)
    scored = F._spectral(w)
    assert sd.q == 0.25 and sd.edge == pytest.approx(scored["mp_edge"], rel=1e-12)
    assert sd.sigma2 == pytest.approx(float(np.mean(w.astype(np.float64) ** 2)), rel=1e-6)   # not the centred 1.0
    assert sd.n_spikes == scored["n_spikes"]
    np.testing.assert_allclose(np.sort(sd.evals), np.sort(np.linalg.svd(w.astype(np.float64), compute_uv=False) ** 2 / 400),
                               rtol=1e-5)
    area = np.trapezoid(sd.mp_pdf, sd.mp_x) if hasattr(np, "trapezoid") else np.trapz(sd.mp_pdf, sd.mp_x)
    assert area == pytest.approx(1.0, abs=0.02)
    from paramstat.stats.spectral import mp_pdf

    val, _ = quad(lambda x: mp_pdf(np.array([x]), 2.0, 0.25)[0], 2.0 * 0.25, 2.0 * 2.25, limit=200)
    assert val == pytest.approx(1.0, abs=2e-3)
    assert PD.spectrum_data("thin", "untrained", w[:, :7]) is None        # a side < 8: no spectrum


@pytest.mark.slow
def test_plots_are_valid_pngs(stubbed, tmp_path):
    from paramstat.report.plots import write_all

    res = stream.scan(tiny_checkpoint(), progress=False, keep_bits=True)
    assert res.bit_z["conv1.weight"].shape == (32,)
    pd_ = PD.plot_data(res)
    assert [h.name for h in pd_.hists][:2] == ["fc.weight", "fc.bias"]   # 'mixed' deciders first
    paths = write_all(pd_, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["bits_heatmap.png", "hist.png", "scores.png", "spectra.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = struct.unpack(">II", data[16:24])
        assert w > 300 and h > 200
    from paramstat.report.plots import scores

    with pytest.raises(Exception, match="exists"):
        scores(pd_, tmp_path / "plots" / "scores.png")     # no overwrite without force
    assert scores(pd_, tmp_path / "plots" / "scores.png", force=True).stat().st_size > 1000


def test_report_renders_details_and_mixed(stubbed):
    from rich.console import Console

    from paramstat.report.scan_report import render

    res = stream.scan(tiny_checkpoint(), progress=False)
    con = Console(record=True, width=200)
    render(res, con, details=True)
    text = con.export_text()
    assert "MIXED" in text and "Never-trained tensors" in text
    assert "Conv weight" in text and "FC bias" in text and "16-22" in text and "undet." in text
    assert "bn1.num_batches_tracked" in text and "excess kurtosis 3.0" in text
    assert "top evidence" in text and "↳" not in text
    con2 = Console(record=True, width=200)
    render(res, con2, details=False)
    assert "bn1.num_batches_tracked" not in con2.export_text()
    # an 80-column terminal: no role column, the evidence on its own line, no line wider than the console,
    # and every tensor name and verdict word whole on one line
    con3 = Console(record=True, width=80)
    render(res, con3, details=True)
    lines = con3.export_text().splitlines()
    assert max(len(x) for x in lines) <= 80
    assert any("name / top evidence" in x for x in lines) and not any("┃ role" in x for x in lines)
    assert any("↳ fc.weight: excess kurtosis 3.0" in x for x in lines)
    for t in res.tensors:
        assert any(f" {t.name} " in x and f" {t.verdict} " in x for x in lines), t.name


def test_empty_checkpoint_is_a_user_error(stubbed):
    from paramstat.errors import ParamstatError

    with pytest.raises(ParamstatError, match="no tensors"):
        stream.scan(Checkpoint("empty", "test", []), progress=False)


def test_a_failing_tensor_is_reported_not_fatal(monkeypatch):
    def judge(rec, raw):
        if rec.name == "conv2.weight":
            raise ValueError("odd tensor")
        return stub_judge(rec, raw)

    monkeypatch.setattr(stream, "judge_tensor", judge)
    monkeypatch.setattr(stream, "judge_checkpoint", stub_checkpoint)
    res = stream.scan(tiny_checkpoint(), progress=False)
    tv = {t.name: t for t in res.tensors}["conv2.weight"]
    assert tv.verdict == "skipped" and tv.score is None and "odd tensor" in tv.evidence[0].text
    assert any("conv2.weight: not analysed (ValueError: odd tensor)" in w for w in res.warnings)
    assert len(res.tensors) == 9


def test_dtype_history_line():
    from paramstat.report.scan_report import dtype_history

    t = [TV(f"w{i}", f"w{i}", "linear", (4, 4), "float32", i, 16, "trained", 0.9, [], {"low_bits_constant": k})
         for i, k in enumerate((0, 13, 16, 16, 12))]
    res = R.ScanResult("x", "t", "trained", 0.9, 80, t, [])
    lines = dtype_history(res)
    assert lines == ["1 float32 tensors have their 13+ lowest fraction bits constant (stored via float16): w1",
                     "2 float32 tensors have their 16+ lowest fraction bits constant (stored via bfloat16): w2, w3"]


def test_nan_tensors_give_checkpoint_warnings():
    """An all-NaN weight is named in a checkpoint-level warning (it used to pass unmentioned); a partly NaN
    one is counted; a finite checkpoint gets neither."""
    r = np.random.default_rng(0)
    a = r.normal(0, 0.05, (64, 32)).astype("float32")
    b = np.full((10, 64), np.nan, "float32")
    c = r.normal(0, 0.05, (16, 64)).astype("float32")
    c[0, :3] = [np.nan, np.inf, -np.inf]
    recs = [TensorRecord(n, n, "float32", x.shape, "linear", i, fan_in=x.shape[1], fan_out=x.shape[0],
                         reader=lambda x=x: x)
            for i, (n, x) in enumerate([("a.weight", a), ("b.weight", b), ("c.weight", c)])]
    res = stream.scan(Checkpoint("mem", "memory", recs))
    full, part = res.warnings[-2:]
    assert full.startswith("1 tensor(s) entirely NaN/Inf (b.weight)")
    assert part.startswith("3 NaN/Inf values in 1 tensor(s) (c.weight)")
    assert not any("NaN" in w for w in stream.scan(Checkpoint("mem", "memory", recs[:1])).warnings)
