"""Every entry of paramstat.stats.initlaws against values drawn by the library's own init code: KS (scipy) on
>= 100k draws at the law's exact scale (from the fans / hidden size / config values the draws were made with),
the support of bounded laws, and a 3% scale error that must be rejected (the test can fail)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import stats

from paramstat.stats import initlaws
from paramstat.stats.initlaws import get_law, law_names, laws_for
from paramstat.stats.lawdists import law_cdf, law_std, support
from paramstat.stats.signatures import orthogonal_distance

N_MIN = 100_000


def _t(x):
    return x.detach().double().numpy().reshape(-1)


def _torch_init(fn, shape, seed=0, **kw):
    import torch

    torch.manual_seed(seed)
    w = torch.empty(*shape)
    fn(w, **kw)
    return _t(w)


def _repeat(make, times):
    return np.concatenate([make(i) for i in range(times)])


# ------------------------------------------------------------------ draws: (values, ctx) per law name

def d_pytorch_default():
    import torch

    torch.manual_seed(0)
    return _t(torch.nn.Linear(400, 300).weight), {"fan_in": 400}


def d_pytorch_default_bias():
    import torch

    def one(i):
        torch.manual_seed(i)
        return _t(torch.nn.Conv2d(16, 2000, 3).bias)
    return _repeat(one, 60), {"fan_in": 16 * 9}


def d_pytorch_rnn():
    import torch

    torch.manual_seed(0)
    m = torch.nn.LSTM(input_size=32, hidden_size=96, num_layers=2)
    return np.concatenate([_t(p) for p in m.parameters()]), {"hidden_size": 96}


def d_normal_1():
    import torch

    torch.manual_seed(0)
    return _t(torch.nn.Embedding(1000, 120).weight), {}


def d_xavier_uniform():
    import torch

    torch.manual_seed(0)
    w = torch.nn.MultiheadAttention(embed_dim=192, num_heads=4).in_proj_weight
    return _t(w), {"fan_in": 192, "fan_out": 576}


def d_xavier_normal():
    import torch

    return _torch_init(torch.nn.init.xavier_normal_, (500, 300)), {"fan_in": 300, "fan_out": 500}


def d_kaiming_normal_fan_in():
    import torch

    return _torch_init(torch.nn.init.kaiming_normal_, (256, 64, 3, 3), mode="fan_in"), {"fan_in": 64 * 9}


def d_kaiming_normal_fan_out():
    import torch
    import torchvision

    torch.manual_seed(0)
    w = torchvision.models.resnet18().layer3[0].conv1.weight    # (256, 128, 3, 3), kaiming fan_out relu
    return _t(w), {"fan_out": 256 * 9}


def d_kaiming_normal_fan_out_grouped():
    import torch
    from timm.models._efficientnet_builder import _init_weight_goog

    torch.manual_seed(0)
    m = torch.nn.Conv2d(256, 512, 3, groups=4)      # weight (512, 64, 3, 3)
    _init_weight_goog(m)
    return _t(m.weight), {"fan_out_grouped": 512 * 9 // 4}


def d_kaiming_uniform_fan_in():
    import torch

    return _torch_init(torch.nn.init.kaiming_uniform_, (256, 64, 3, 3), mode="fan_in"), {"fan_in": 64 * 9}


def d_kaiming_uniform_fan_out():
    import torch

    return _torch_init(torch.nn.init.kaiming_uniform_, (256, 64, 3, 3), mode="fan_out"), {"fan_out": 256 * 9}


def d_kaiming_uniform_fan_out_grouped():
    import torch

    # torch knows no groups: draw with a tensor whose torch fan_out equals the grouped one (out*k*k/groups)
    return (_torch_init(torch.nn.init.kaiming_uniform_, (128, 128, 3, 3), mode="fan_out"),
            {"fan_out_grouped": 512 * 9 // 4})


def d_kaiming_normal_fan_in_linear():
    import torch

    return (_torch_init(torch.nn.init.kaiming_normal_, (256, 64, 3, 3), mode="fan_in", nonlinearity="linear"),
            {"fan_in": 64 * 9})


def d_timm_goog_linear():
    import torch
    from timm.models._efficientnet_builder import _init_weight_goog

    torch.manual_seed(0)
    m = torch.nn.Linear(256, 1000)
    _init_weight_goog(m)
    return _t(m.weight), {"fan_out": 1000}


def d_lecun_normal():
    from timm.layers import lecun_normal_

    return _torch_init(lecun_normal_, (300, 400)), {"fan_in": 400}


def d_he_normal_trunc():
    import torch  # noqa: F401
    from timm.layers import variance_scaling_

    return (_torch_init(variance_scaling_, (300, 400), scale=2.0, mode="fan_in", distribution="truncated_normal"),
            {"fan_in": 400})


def d_he_normal_trunc_fan_out():
    import torch  # noqa: F401
    from timm.layers import variance_scaling_

    return (_torch_init(variance_scaling_, (300, 400), scale=2.0, mode="fan_out", distribution="truncated_normal"),
            {"fan_out": 300})


def d_glorot_normal_trunc():
    from timm.layers import variance_scaling_

    return (_torch_init(variance_scaling_, (300, 400), scale=1.0, mode="fan_avg", distribution="truncated_normal"),
            {"fan_in": 400, "fan_out": 300})


def d_lecun_uniform():
    from timm.layers import variance_scaling_

    return (_torch_init(variance_scaling_, (300, 400), scale=1.0, mode="fan_in", distribution="uniform"),
            {"fan_in": 400})


def d_trunc_normal_fan_in():
    import torch
    import torchvision

    torch.manual_seed(0)
    m = torchvision.models.VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
                                             hidden_dim=192, mlp_dim=64)
    return _t(m.conv_proj.weight), {"fan_in": 3 * 16 * 16}


def d_trunc_normal_0_02():
    from timm.layers import trunc_normal_

    return _torch_init(trunc_normal_, (300, 400), std=0.02), {}


def d_trunc_normal_tf_0_02():
    from timm.layers import trunc_normal_tf_

    return _torch_init(trunc_normal_tf_, (300, 400), std=0.02), {}


def d_normal_0_02():
    import torch

    return _torch_init(torch.nn.init.normal_, (300, 400), std=0.02), {}


def d_normal_0_01():
    import torch
    import torchvision

    torch.manual_seed(0)
    return _t(torchvision.models.mobilenet_v3_small().classifier[3].weight), {}


def d_normal_1e_06():
    import torch
    import torchvision

    def one(i):
        torch.manual_seed(i)
        blk = torchvision.models.vision_transformer.MLPBlock(64, 5000, 0.0)
        return _t(blk[0].bias)
    return _repeat(one, 20), {}


def d_timm_moco_qkv():
    import torch
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    m = VisionTransformer(img_size=32, patch_size=16, embed_dim=192, depth=1, num_heads=3, weight_init="moco")
    return _t(m.blocks[0].attn.qkv.weight), {"fan_in": 192, "fan_out": 576}


def _repvgg(attr):
    import torch
    from timm.models.byobnet import RepVggBlock

    blk = RepVggBlock(256, 256)

    def one(i):
        torch.manual_seed(i)
        blk.init_weights()
        return np.concatenate([_t(getattr(m, attr)) for m in blk.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    return _repeat(one, 200)


def d_timm_repvgg_bn_weight():
    return _repvgg("weight"), {}


def d_timm_repvgg_bn_bias():
    return _repvgg("bias"), {}


def d_constant_0():
    import torch

    m = torch.nn.MultiheadAttention(embed_dim=64, num_heads=4)
    return np.concatenate([_t(m.in_proj_bias), _t(m.out_proj.bias), _t(torch.nn.LayerNorm(64).bias)]), {}


def d_constant_1():
    import torch

    return np.concatenate([_t(torch.nn.LayerNorm(64).weight), _t(torch.nn.BatchNorm2d(64).weight)]), {}


def d_constant():
    from timm.layers import LayerScale

    return _t(LayerScale(384, init_values=1e-5).gamma), {"value": 1e-5}


# --------------------------------------------------------------------------------- transformers (slow)

def _hf_weights(model, want):
    import torch

    return np.concatenate([_t(m.weight) for n, m in model.named_modules()
                           if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)) and want(n)])


def d_hf_normal():
    import torch
    pytest.importorskip("transformers")
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=1000, hidden_size=128, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=512, initializer_range=0.05)
    return _hf_weights(BertModel(cfg), lambda n: "encoder" in n or "embeddings" in n), {"initializer_range": 0.05}


def d_hf_trunc_normal():
    import torch
    pytest.importorskip("transformers")
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(0)
    cfg = ViTConfig(hidden_size=128, num_hidden_layers=1, num_attention_heads=2, intermediate_size=512,
                    image_size=32, patch_size=16, initializer_range=0.03)
    return _hf_weights(ViTModel(cfg), lambda n: "layer" in n), {"initializer_range": 0.03}


def d_gpt2_c_proj():
    import torch
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    m = GPT2Model(GPT2Config(vocab_size=100, n_positions=32, n_embd=128, n_layer=3, n_head=2))
    return np.concatenate([_t(mod.weight) for n, mod in m.named_modules() if n.endswith("c_proj")]), {"n_layer": 3}


def _t5(names):
    import torch
    pytest.importorskip("transformers")
    from transformers import T5Config, T5Model

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=100, d_model=128, d_kv=32, num_heads=4, d_ff=256, num_layers=4,
                   num_decoder_layers=4, initializer_factor=0.5)
    m = T5Model(cfg)
    ctx = {"d_model": 128, "d_kv": 32, "num_heads": 4, "d_ff": 256, "initializer_factor": 0.5}
    return np.concatenate([_t(mod.weight) for n, mod in m.named_modules()
                           if isinstance(mod, torch.nn.Linear) and n.rsplit(".", 1)[-1] in names]), ctx


def d_t5_d_model():
    return _t5({"wi", "k", "v"})


def d_t5_d_ff():
    return _t5({"wo"})


def d_t5_q():
    return _t5({"q"})


def d_t5_o():
    return _t5({"o"})


# ---------------------------------------------------------------------------------------- keras (slow)

def _keras(name, shape=(300, 400), **kw):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")

    init = getattr(keras.initializers, name)(seed=0, **kw)
    return np.asarray(keras.ops.convert_to_numpy(init(shape)), dtype=np.float64).reshape(-1)


def d_keras_random_normal():
    return _keras("RandomNormal"), {}


def d_keras_random_uniform():
    return _keras("RandomUniform"), {}


def d_keras_truncated_normal():
    return _keras("TruncatedNormal"), {}


DRAWS = {name: globals()["d_" + name.replace(".", "_").replace("-", "_")] for name in law_names()
         if name != "orthogonal"}
SLOW = {n for n in DRAWS if n.startswith(("hf_", "gpt2", "t5_", "keras_"))}

# the same law drawn by a second library (Keras' own initializers: glorot_uniform is the Keras default)
KERAS_TWINS = {"xavier_uniform": ("GlorotUniform", {"fan_in": 400, "fan_out": 300}),
               "glorot_normal_trunc": ("GlorotNormal", {"fan_in": 400, "fan_out": 300}),
               "he_normal_trunc": ("HeNormal", {"fan_in": 400}),
               "kaiming_uniform_fan_in": ("HeUniform", {"fan_in": 400}),
               "lecun_normal": ("LecunNormal", {"fan_in": 400}),
               "lecun_uniform": ("LecunUniform", {"fan_in": 400}),
               # keras.applications EfficientNet / EfficientNetV2 conv and dense kernel initializers
               "he_normal_trunc_fan_out": ("VarianceScaling", {"fan_out": 300},
                                           {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}),
               "timm_goog_linear": ("VarianceScaling", {"fan_out": 300},
                                    {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"})}


def _check(name, x, ctx):
    law = get_law(name)
    p = law.params(**ctx)
    assert p is not None, f"{name}: {ctx} lacks {law.needs}"
    assert x.size >= (N_MIN if law.dist != "constant" else 1), (name, x.size)
    if law.dist == "constant":
        assert np.all(x.astype(np.float32) == np.float32(p["c"])), name   # stored in float32
        return
    lo, hi = support(law.dist, p)
    # Keras' torch backend draws 4 normals and keeps the first inside +-2 sigma, or the first of them when none
    # is (P = 0.0455^4 = 4.3e-6): a leak of that size is the library's law
    outside = np.count_nonzero((x < lo - 1e-7 * abs(lo)) | (x > hi + 1e-7 * abs(hi)))
    assert outside <= 1e-5 * x.size, (name, outside)
    ks = stats.kstest(x, lambda v: law_cdf(law.dist, p, v))
    assert ks.pvalue > 1e-3, f"{name}: KS D={ks.statistic:.5f} p={ks.pvalue:.2g}"
    assert np.std(x) == pytest.approx(law_std(law.dist, p), rel=0.02)
    # power: the same draws are rejected at a 3% larger scale
    q = dict(p)
    for k in ("s", "a", "b"):
        if k in q:
            q[k] = q[k] * 1.03
    assert stats.kstest(x, lambda v: law_cdf(law.dist, q, v)).pvalue < 1e-6, f"{name}: no power"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in DRAWS])
def test_law_matches_library_draws(name):
    x, ctx = DRAWS[name]()
    _check(name, x, ctx)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(KERAS_TWINS))
def test_law_matches_keras_draws(name):
    cls, ctx, *kw = KERAS_TWINS[name]
    _check(name, _keras(cls, (400, 300), **(kw[0] if kw else {})), ctx)   # Keras Dense kernel (in, out)


def test_orthogonal_torch_and_distance():
    import torch

    x = _torch_init(torch.nn.init.orthogonal_, (256, 512), gain=1.0).reshape(256, 512)
    d, gain = orthogonal_distance(x)
    assert d < 1e-5 and gain == pytest.approx(get_law("orthogonal").params()["gain"], rel=1e-5)
    rnd = np.random.default_rng(0).normal(size=(256, 512)) / np.sqrt(512)
    assert orthogonal_distance(rnd)[0] > 0.05


def test_every_law_has_a_library_draw():
    assert set(DRAWS) | {"orthogonal"} == set(law_names())
    for law in (get_law(n) for n in law_names()):
        assert law.dist in ("normal", "truncnorm", "uniform", "constant", "orthogonal")
        assert law.libraries and law.uses and law.roles


def test_trunc_normal_tf_std_is_0880_sigma():
    p = get_law("trunc_normal_tf_0.02").params()
    assert law_std("truncnorm", p) == pytest.approx(0.8796256610 * 0.02, rel=1e-9)
    assert get_law("trunc_normal_0.02").std() == pytest.approx(0.02, rel=1e-12)   # +-2 absolute: no truncation


def test_lookups():
    assert "pytorch_rnn" in [law.name for law, _ in laws_for("bias", hidden_size=64)]
    assert "pytorch_rnn" not in [law.name for law, _ in laws_for("bias")]
    assert get_law("gpt2_c_proj").params(n_layer=12)["s"] == pytest.approx(0.02 / np.sqrt(24))
    assert get_law("gpt2_c_proj").params() is None
    assert "timm_repvgg_bn_weight" in law_names(role="norm_weight")
    assert set(law_names(library="keras")) >= {"xavier_uniform", "he_normal_trunc", "orthogonal", "constant_0"}
    with pytest.raises(ValueError):
        initlaws.register_law("normal_1", "normal", libraries=("x",), uses=("x",), roles=("linear",))(lambda c: {})
