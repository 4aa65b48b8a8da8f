"""compare() on real pairs: a fresh net vs itself, a dtype-cast copy, a copy fine-tuned by the test, a second
seed, and a trained net with one layer reset. Oracles: torch norms, numpy corrcoef, exact equality."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.nn as nn

from paramstat.compare import CAST, FINE_TUNED, IDENTICAL, INDEPENDENT, compare
from paramstat.compare.relation import FINE_TUNED_MAX_REL, independence_threshold

torch.set_num_threads(1)


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 96), nn.BatchNorm1d(96), nn.ReLU(), nn.Linear(96, 64), nn.ReLU(),
                         nn.Linear(64, 10))


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)


def train(model: nn.Module, data, steps: int, lr: float = 0.05, seed: int = 0) -> nn.Module:
    x, y = data
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (64,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return model


def cmp(a, b, **kw):
    return compare(a, b, progress=False, deep="none", **kw)


def _weights(res):
    return [t for t in res.tensors if t.name.endswith("weight") and len(t.shape) == 2]


def test_fresh_vs_itself_identical():
    a = mlp(0)
    res = cmp(a, a)
    assert res.relation == IDENTICAL
    assert all(t.relation == IDENTICAL and t.bit_identical and t.rel_change == 0.0 for t in res.tensors)
    assert res.unchanged_while_others_moved == []
    assert res.only_in_a == res.only_in_b == res.shape_mismatch == []
    assert res.params_compared == sum(p.numel() for p in a.state_dict().values() if p.is_floating_point())


@pytest.mark.parametrize("dtype,cast", [(torch.bfloat16, "A->bfloat16"), (torch.float16, "A->float16")])
def test_fresh_vs_dtype_cast_copy(dtype, cast):
    a = mlp(0)
    b = copy.deepcopy(a).to(dtype)
    res = cmp(a, b)
    assert res.relation == CAST
    assert {t.cast for t in res.tensors} == {cast}
    # the values differ (rounding) but only by the cast's half-ulp: rel change ~ 2^-9 (bf16), 2^-12 (fp16)
    w = _weights(res)[0]
    assert 0 < w.rel_change < (2.0**-8 if dtype == torch.bfloat16 else 2.0**-11)


def test_fp32_roundtrip_through_bf16_is_cast():
    a = mlp(0)
    b = copy.deepcopy(a).to(torch.bfloat16).float()
    res = cmp(a, b)
    assert res.relation == CAST
    w = _weights(res)[0]
    assert w.cast == "B = A via bfloat16"
    assert w.bits_never_set_b & 0xFFFF == 0xFFFF and w.bits_never_set_a & 0xFF00 == 0


def test_fine_tuned_copy(digits):
    a = mlp(0)
    b = train(copy.deepcopy(a), digits, steps=5, lr=0.01)
    res = cmp(a, b)
    assert res.relation == FINE_TUNED
    sa, sb = a.state_dict(), b.state_dict()
    for t in _weights(res):
        want = float(torch.norm(sb[t.name] - sa[t.name]) / torch.norm(sa[t.name]))
        assert t.rel_change == pytest.approx(want, rel=1e-5)
        assert 0 < t.rel_change <= FINE_TUNED_MAX_REL
        assert t.relation == FINE_TUNED
        cos = float(torch.nn.functional.cosine_similarity(sa[t.name].flatten(), sb[t.name].flatten(), dim=0))
        assert t.cosine == pytest.approx(cos, abs=1e-6)
        assert t.max_abs_diff == pytest.approx(float((sb[t.name] - sa[t.name]).abs().max()), rel=1e-6)
        ua, ub = sa[t.name].numpy().view(np.uint32), sb[t.name].numpy().view(np.uint32)
        assert t.frac_changed == pytest.approx(float(np.mean(ua != ub)))
        flips = [float(np.mean(((ua ^ ub) >> k) & 1)) for k in range(32)]
        assert t.flip_rate == pytest.approx(flips)
        assert t.flip_rate[31] < 0.05 < t.flip_rate[10]  # sign bits barely move, fraction bits churn
    nb = next(x for x in res.non_float if x["name"].endswith("num_batches_tracked"))
    assert nb["equal"] is False


def test_second_seed_independent():
    a, b = mlp(0), mlp(1)
    res = cmp(a, b)
    assert res.relation == INDEPENDENT
    sa, sb = a.state_dict(), b.state_dict()
    for t in _weights(res):
        r = np.corrcoef(sa[t.name].flatten().numpy(), sb[t.name].flatten().numpy())[0, 1]
        assert t.corr == pytest.approx(r, abs=1e-9)
        assert abs(t.corr) < independence_threshold(t.numel)
        assert t.relation == INDEPENDENT
        assert t.rel_change == pytest.approx(np.sqrt(2), abs=0.1)  # same scale, no correlation
        ks = st.ks_2samp(sa[t.name].flatten().numpy(), sb[t.name].flatten().numpy())
        assert t.ks_d == pytest.approx(ks.statistic) and ks.pvalue > 1e-3  # same law, other values
    # BatchNorm's constant init (weight 1, bias 0, running stats) is the same in both seeds
    assert {t.name for t in res.tensors if t.relation == IDENTICAL} == {
        "1.weight", "1.bias", "1.running_mean", "1.running_var"}


def test_trained_with_one_layer_reset(digits):
    init = mlp(0)
    trained = train(copy.deepcopy(init), digits, steps=40)
    reset = copy.deepcopy(trained)
    with torch.no_grad():
        reset[3].weight.copy_(init[3].weight)
        reset[3].bias.copy_(init[3].bias)
    res = cmp(init, reset)
    assert res.relation not in (IDENTICAL, CAST)
    assert res.unchanged_while_others_moved == ["3.weight", "3.bias"]
    res2 = cmp(trained, reset)
    moved = {t.name for t in res2.tensors if t.relation != IDENTICAL}
    assert moved == {"3.weight", "3.bias"}
    assert res2.top_changed(1)[0].name in moved
    assert set(res2.unchanged_while_others_moved) == {t.name for t in res2.tensors} - moved


def test_state_dict_and_safetensors_files_agree(tmp_path):
    from safetensors.torch import save_file

    a, b = mlp(0), mlp(1)
    sa = {k: v.contiguous() for k, v in a.state_dict().items()}
    sb = {k: v.contiguous() for k, v in b.state_dict().items()}
    sb["extra.weight"] = torch.zeros(3)
    del sb["5.bias"]
    save_file(sa, tmp_path / "a.safetensors")
    save_file(sb, tmp_path / "b.safetensors")
    r_files = cmp(str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"))
    r_dicts = cmp(sa, sb)
    assert r_files.only_in_a == r_dicts.only_in_a == ["5.bias"]
    assert r_files.only_in_b == r_dicts.only_in_b == ["extra.weight"]
    by = {t.name: t for t in r_dicts.tensors}
    for t in r_files.tensors:
        assert t.rel_change == pytest.approx(by[t.name].rel_change, rel=1e-12)
        assert t.relation == by[t.name].relation
    d = json.loads(json.dumps(r_files.to_dict(), default=str))
    assert d["relation"] == INDEPENDENT
    assert {"name", "relation", "rel_change", "cosine"} <= set(d["tensors"][0])
    df = r_files.to_dataframe()
    assert len(df) == len(r_files.tensors) and "rel_change" in df.columns


def test_deep_stats_fits_and_spikes(digits):
    """Family fits and spectra for the most-changed weights equal paramstat.stats run on the same data."""
    from paramstat.stats.fits import fit_families
    from paramstat.stats.spectral import spectral

    init = mlp(0)
    trained = train(copy.deepcopy(init), digits, steps=60)
    res = compare(init, trained, progress=False, deep="auto", deep_top=2)
    deep = [t for t in res.tensors if t.spectral_a is not None]
    top2 = sorted(_weights(res), key=lambda t: -t.rel_change)[:2]
    assert {t.name for t in deep} == {t.name for t in top2}
    sa, sb = init.state_dict(), trained.state_dict()
    for t in deep:
        a, b = sa[t.name].numpy().astype(np.float64), sb[t.name].numpy().astype(np.float64)
        assert t.spectral_shape == list(a.shape)  # below the caps: the whole matrix
        assert t.spectral_a["n_spikes"] == spectral(a, seed=0).n_spikes
        assert t.spectral_b["n_spikes"] == spectral(b, seed=0).n_spikes
        assert t.spikes_change == t.spectral_b["n_spikes"] - t.spectral_a["n_spikes"]
        if a.size <= res.options.fit_subsample:
            assert t.fit_b["family"] == fit_families(b.reshape(-1), seed=0, subsample=a.size).best


def test_public_api_callable_twice():
    """`paramstat.compare` stays callable after the subpackage is imported (it is both)."""
    import paramstat

    sd = {"w": torch.arange(12.0).reshape(3, 4)}
    assert paramstat.compare(sd, sd, progress=False).relation == IDENTICAL
    assert paramstat.compare(sd, {"w": sd["w"] * 2}, progress=False, deep="none").relation == "retrained"


def test_relation_says_when_it_covers_matched_tensors_only():
    import torch

    from paramstat.compare import compare

    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.Linear(16, 10))
    b = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.Linear(16, 3))  # new head, other shape
    b[0].load_state_dict(a[0].state_dict())
    res = compare(a, b, progress=False)
    assert res.relation == "identical" and not res.complete
    d = res.to_dict()
    assert d["relation_covers_all"] is False and len(d["shape_mismatch"]) == 2
    assert compare(a, a, progress=False).to_dict()["relation_covers_all"] is True
