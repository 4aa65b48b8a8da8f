"""Init signatures: tensors drawn by torch.nn.init / timm init functions are matched to their init."""
import math

import numpy as np
import pytest
from scipy import stats

from paramstat.stats.lawdists import truncnorm_std
from paramstat.stats.signatures import fans, init_signatures, ks_distance

torch = pytest.importorskip("torch")


def drawn(shape, fn, seed=0):
    g = torch.manual_seed(seed)  # noqa: F841  (global generator seeded)
    t = torch.empty(shape)
    fn(t)
    return t.numpy()


nn_init = torch.nn.init
CONV = (96, 48, 3, 3)     # fan_in 432, fan_out 864
LIN = (200, 784)          # fan_in 784, fan_out 200

CASES = [
    ("pytorch_default", CONV, lambda t: nn_init.kaiming_uniform_(t, a=math.sqrt(5))),
    ("pytorch_default", LIN, lambda t: nn_init.kaiming_uniform_(t, a=math.sqrt(5))),
    ("kaiming_normal_fan_in", CONV, lambda t: nn_init.kaiming_normal_(t, nonlinearity="relu")),
    ("kaiming_normal_fan_out", CONV, lambda t: nn_init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")),
    ("kaiming_uniform_fan_in", LIN, lambda t: nn_init.kaiming_uniform_(t, nonlinearity="relu")),
    ("kaiming_uniform_fan_out", LIN, lambda t: nn_init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")),
    ("xavier_normal", LIN, nn_init.xavier_normal_),
    ("xavier_uniform", CONV, nn_init.xavier_uniform_),
    ("normal_0.01", LIN, lambda t: nn_init.normal_(t, std=0.01)),
    ("normal_1", (1000, 64), nn_init.normal_),
    ("trunc_normal_fan_in", (384, 3, 16, 16), lambda t: nn_init.trunc_normal_(t, std=math.sqrt(1 / 768))),
    ("constant_0", LIN, nn_init.zeros_),
    ("constant_1", (64,), nn_init.ones_),
]


@pytest.mark.parametrize("expected,shape,fn", CASES, ids=[f"{c[0]}-{len(c[1])}d" for c in CASES])
def test_torch_inits_are_recognised(expected, shape, fn):
    x = drawn(shape, fn)
    r = init_signatures(x, "conv" if len(shape) == 4 else "linear", shape=shape)
    assert r.best == expected, [(m.name, round(m.distance, 4)) for m in r.matches[:4]]
    assert r.distance < 0.02
    m = r.best_match
    if m.kind != "constant":
        assert m.scale_ratio == pytest.approx(1.0, abs=0.05)
        # runner-up is clearly worse
        second = next(mm for mm in r.matches if mm.name not in r.ties)
        assert second.distance > 3 * max(r.distance, 0.005)


def test_orthogonal():
    x = drawn((128, 300), nn_init.orthogonal_)
    r = init_signatures(x, "linear")
    assert r.best == "orthogonal" and r.distance < 1e-5
    assert r.best_match.scale_ratio == pytest.approx(1.0, abs=1e-5)
    x2 = drawn((300, 128), lambda t: nn_init.orthogonal_(t, gain=2.0))  # columns orthonormal
    r2 = init_signatures(x2, "linear")
    assert r2.best == "orthogonal" and r2.best_match.params["gain"] == pytest.approx(2.0, rel=1e-5)
    # i.i.d. matrix: far from orthogonal (~ sqrt(m/N))
    iid = init_signatures(drawn((128, 300), nn_init.xavier_normal_), "linear")
    assert iid.get("orthogonal").distance > 0.4


def test_timm_inits():
    wi = pytest.importorskip("timm.layers.weight_init")
    x = drawn((768, 768), lambda t: wi.trunc_normal_(t, std=0.02))
    r = init_signatures(x, "linear")
    assert set(r.ties) >= {"trunc_normal_0.02", "normal_0.02"} and r.distance < 0.01
    x = drawn((256, 128, 3, 3), wi.lecun_normal_)
    r = init_signatures(x, "conv")
    assert r.best == "lecun_normal" and r.distance < 0.01
    # the untruncated normal of the same std is measurably worse (tails cut at 2 sigma')
    assert r.get("trunc_normal_fan_in").distance > 2 * r.distance
    # timm EfficientNet depthwise: N(0, 2/fan_out) with fan_out divided by groups
    shp = (240, 1, 5, 5)
    x = drawn(shp, lambda t: t.normal_(0, math.sqrt(2.0 / (240 // 240 * 25))))
    r = init_signatures(x, "dwconv", groups=240, shape=shp)
    # for depthwise fan_out/groups == fan_in: the two are the same distribution, reported as a tie
    assert {"kaiming_normal_fan_out_grouped", "kaiming_normal_fan_in"} <= set(r.ties) and r.distance < 0.02
    # timm EfficientNet classifier: U(+-1/sqrt(fan_out))
    x = drawn((1000, 1280), lambda t: nn_init.uniform_(t, -1 / math.sqrt(1000), 1 / math.sqrt(1000)))
    r = init_signatures(x, "linear")
    assert r.best == "timm_goog_linear" and r.distance < 0.01
    # torchvision's convention (fan_out not divided by groups)
    x = drawn(shp, lambda t: nn_init.kaiming_normal_(t, mode="fan_out"))
    r = init_signatures(x, "dwconv", groups=240, shape=shp)
    assert r.best == "kaiming_normal_fan_out" and r.distance < 0.02


def test_bias_tokens_and_constants():
    b = drawn((512,), lambda t: nn_init.uniform_(t, -1 / math.sqrt(256), 1 / math.sqrt(256)))
    r = init_signatures(b, "bias", fan_in=256)
    assert r.best == "pytorch_default_bias" and r.distance < 0.08
    tok = drawn((1, 1, 768), lambda t: nn_init.normal_(t, std=1e-6))
    assert init_signatures(tok, "positional").best == "normal_1e-06"
    ls = np.full(384, 1e-6, np.float32)
    r = init_signatures(ls, "other")
    assert r.best == "constant" and r.distance == 0 and r.best_match.params["c"] == pytest.approx(1e-6)
    bn = np.ones(64, np.float32)
    bn[3] = 0.999
    r = init_signatures(bn, "norm_weight")
    assert r.get("constant_1").distance == pytest.approx(1 / 64)


def test_trained_like_tensors_are_far():
    rng = np.random.default_rng(0)
    shp = (256, 256, 3, 3)  # fan_in 2304
    for scale in (0.3, 1.0, 3.0):  # heavy tails, wrong or right scale relative to kaiming
        x = (stats.t(3).rvs(size=shp, random_state=rng) * math.sqrt(2 / 2304) / math.sqrt(3) * scale)
        r = init_signatures(x.astype(np.float32), "conv")
        assert r.distance > 0.02, (scale, r.best, r.distance)  # genuine inits at this size: D < 0.005
    # a uniform init that drifted by 20% of its scale
    b = 1 / math.sqrt(2304)
    x = rng.uniform(-b, b, shp) * 1.2
    r = init_signatures(x, "conv")
    assert r.get("pytorch_default").distance > 0.05


def test_ks_distance_matches_scipy_and_subsampling():
    x = np.random.default_rng(1).normal(0, 1.1, 3000)
    xs = np.sort(x)
    d = ks_distance(xs, stats.norm.cdf(xs))
    assert d == pytest.approx(stats.kstest(x, "norm").statistic, abs=1e-12)
    b = 1 / math.sqrt(1000)
    big = np.random.default_rng(2).uniform(-b, b, 500_000).astype(np.float32)
    r = init_signatures(big.reshape(500, 1000), "linear", sample_max=100_000)
    assert r.n == 500_000 and r.n_used == 100_000 and r.best == "pytorch_default"
    assert init_signatures(big.reshape(500, 1000), "linear", sample_max=100_000).to_dict() == r.to_dict()


def test_fans_follow_torch():
    t = torch.empty(64, 8, 3, 3)
    fi, fo = nn_init._calculate_fan_in_and_fan_out(t)
    f = fans(t.shape, groups=8)
    assert (f["fan_in"], f["fan_out"], f["fan_out_grouped"]) == (fi, fo, 64 // 8 * 9)
    assert fans((10,), fan_in=5) == {"fan_in": 5}


def test_truncnorm_std_matches_scipy():
    for s_, a, b in [(1.0, -2.0, 2.0), (0.5, -1.0, 2.0), (0.02, -2.0, 2.0)]:
        assert truncnorm_std(s_, a, b) == pytest.approx(stats.truncnorm.std(a / s_, b / s_, scale=s_), rel=1e-10)
    assert truncnorm_std(1.0, -2.0, 2.0) == pytest.approx(0.87962566103423978, rel=1e-12)
