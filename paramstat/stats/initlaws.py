"""Registry of known init laws (one entry per law, timm ``_registry.py`` style): what a library's init code
draws for a tensor, and how its scale follows from the tensor's fans, hidden size or config values.

Each entry (:class:`InitLaw`): ``name``, ``dist`` ('normal', 'truncnorm', 'uniform', 'constant',
'orthogonal'), the libraries and modules that use it, the record roles it applies to, the context keys it
``needs`` (fan_in, fan_out, fan_out_grouped, hidden_size, or config values such as initializer_range,
n_layer, d_model, d_ff, d_kv, num_heads, initializer_factor, value) with ``defaults`` for config values, and
a function ctx -> params:
  normal     {'s'} (+ 'mu' when the mean is not 0)       N(mu, s^2)
  truncnorm  {'s', 'a', 'b'}  N(0, s^2) truncated to the ABSOLUTE interval [a, b]
             (torch/timm ``trunc_normal_(std=s)``: a, b = -2, 2; timm ``trunc_normal_tf_`` and Keras'
             truncated normals: a, b = -2 s, 2 s, std 0.880 s)
  uniform    {'b'}  U(-b, b)
  constant   {'c'}
  orthogonal {'gain'}  rows (or columns) orthonormal times gain
Sources: torch/nn/init.py, torch/nn/modules/{linear,conv,sparse,rnn,activation,transformer}.py,
torchvision/models/{resnet,vision_transformer,convnext,efficientnet,mobilenetv3}.py,
timm/layers/weight_init.py, timm/models/{resnet,vision_transformer,byobnet,nfnet,edgenext}.py,
transformers' ``_init_weights`` (BERT, RoBERTa, GPT-2, T5, ViT, Llama, Whisper), keras/src/initializers.
``paramstat.stats.signatures`` takes its candidates' params from here (by name).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .lawdists import law_std, tn2_params

MATRIX = ("conv", "dwconv", "linear", "attn_in_proj", "other")
EMB = ("embedding", "positional", "other")
BIAS = ("bias",)
NORM_W = ("norm_weight",)
NORM_B = ("norm_bias",)


@dataclass(frozen=True)
class InitLaw:
    name: str
    dist: str
    libraries: tuple[str, ...]
    uses: tuple[str, ...]
    roles: tuple[str, ...]
    needs: tuple[str, ...]
    defaults: dict
    formula: str
    fn: Callable[[dict], dict] = field(repr=False, compare=False)

    def params(self, **ctx) -> dict | None:
        """The law's parameters for this context (config defaults filled in), or None when a needed
        value is unknown."""
        c = {**self.defaults, **{k: v for k, v in ctx.items() if v is not None}}
        if any(not c.get(k) for k in self.needs if k not in self.defaults):
            return None
        return self.fn(c)

    def std(self, **ctx) -> float:
        """Std of the drawn values (nan for orthogonal)."""
        p = self.params(**ctx)
        return float("nan") if p is None else law_std(self.dist, p)


_LAWS: dict[str, InitLaw] = {}


def register_law(name: str, dist: str, *, libraries: tuple[str, ...], uses: tuple[str, ...],
                 roles: tuple[str, ...], needs: tuple[str, ...] = (), defaults: dict | None = None,
                 formula: str = ""):
    """Decorator: register ``fn(ctx) -> params`` as the law ``name``."""
    def deco(fn):
        if name in _LAWS:
            raise ValueError(f"init law {name!r} registered twice")
        _LAWS[name] = InitLaw(name, dist, tuple(libraries), tuple(uses), tuple(roles), tuple(needs),
                              dict(defaults or {}), formula or (fn.__doc__ or "").strip(), fn)
        return fn
    return deco


def get_law(name: str) -> InitLaw:
    return _LAWS[name]


def law_names(library: str | None = None, role: str | None = None) -> list[str]:
    """Registered names, optionally only those used by ``library`` (prefix match) / for ``role``."""
    return [n for n, law in _LAWS.items()
            if (library is None or any(lib.startswith(library) for lib in law.libraries))
            and (role is None or role in law.roles)]


def law_params(name: str, **ctx) -> dict | None:
    return _LAWS[name].params(**ctx)


def laws_for(role: str, **ctx) -> list[tuple[InitLaw, dict]]:
    """(law, params) of every law that applies to ``role`` and whose needed values ``ctx`` gives."""
    out = []
    for law in _LAWS.values():
        if role in law.roles:
            p = law.params(**ctx)
            if p is not None:
                out.append((law, p))
    return out


# --------------------------------------------------------------------------------------------- torch.nn

@register_law("pytorch_default", "uniform", libraries=("torch.nn",), roles=MATRIX, needs=("fan_in",),
              uses=("Linear.weight", "Conv1d/2d/3d.weight", "ConvTranspose1d/2d/3d.weight (fan_in of the stored "
                    "shape)", "MultiheadAttention.out_proj.weight", "TransformerEncoderLayer linear1/linear2",
                    "timm ViT patch_embed.proj"))
def _pytorch_default(c):
    """kaiming_uniform_(a=sqrt 5): U(+-1/sqrt(fan_in))"""
    return {"b": 1 / np.sqrt(c["fan_in"])}


@register_law("pytorch_default_bias", "uniform", libraries=("torch.nn",), roles=BIAS, needs=("fan_in",),
              uses=("Linear.bias", "ConvNd.bias", "ConvTransposeNd.bias"))
def _pytorch_default_bias(c):
    """U(+-1/sqrt(fan_in)) with the weight's fan_in"""
    return {"b": 1 / np.sqrt(c["fan_in"])}


@register_law("pytorch_rnn", "uniform", libraries=("torch.nn",), roles=("linear", "bias"), needs=("hidden_size",),
              uses=("RNN/LSTM/GRU (and cells) weight_ih/hh/hr, bias_ih/hh (RNNBase.reset_parameters)",))
def _pytorch_rnn(c):
    """U(+-1/sqrt(hidden_size)) for every weight and bias"""
    return {"b": 1 / np.sqrt(c["hidden_size"])}


@register_law("normal_1", "normal", libraries=("torch.nn", "transformers.T5"), roles=EMB + ("linear",),
              uses=("Embedding.weight / EmbeddingBag.weight (normal_)", "T5 shared embedding and lm_head "
                    "(initializer_factor 1)"))
def _normal_1(c):
    """N(0, 1)"""
    return {"s": 1.0}


@register_law("xavier_uniform", "uniform", libraries=("torch.nn", "torchvision", "timm", "keras"),
              roles=MATRIX + ("embedding",), needs=("fan_in", "fan_out"),
              uses=("MultiheadAttention.in_proj_weight", "nn.Transformer._reset_parameters (every dim > 1)",
                    "torchvision ViT MLP", "timm ViT jax/moco Linear", "keras GlorotUniform (the default kernel "
                    "initializer)"))
def _xavier_uniform(c):
    """U(+-sqrt(6/(fan_in+fan_out)))"""
    return {"b": np.sqrt(6 / (c["fan_in"] + c["fan_out"]))}


@register_law("xavier_normal", "normal", libraries=("torch.nn",), roles=MATRIX, needs=("fan_in", "fan_out"),
              uses=("torch.nn.init.xavier_normal_",))
def _xavier_normal(c):
    """N(0, 2/(fan_in+fan_out))"""
    return {"s": np.sqrt(2 / (c["fan_in"] + c["fan_out"]))}


for _mode, _uses in (("fan_in", ("kaiming_normal_(mode='fan_in')",)),
                     ("fan_out", ("torchvision ResNet/EfficientNet/MobileNet conv (mode='fan_out', relu)",
                                  "timm ResNet.init_weights conv")),
                     ("fan_out_grouped", ("timm _init_weight_goog conv (EfficientNet, MobileNetV3): "
                                          "fan_out = k*k*out/groups", "timm byobnet/RepVGG conv"))):
    _roles = MATRIX if _mode == "fan_in" else ("conv", "dwconv")   # fan_out modes: the conv inits above
    register_law(f"kaiming_normal_{_mode}", "normal", libraries=("torch.nn", "torchvision", "timm"),
                 roles=_roles, needs=(_mode,), uses=_uses)(
        lambda c, m=_mode: {"s": np.sqrt(2 / c[m])})
    register_law(f"kaiming_uniform_{_mode}", "uniform", libraries=("torch.nn", "keras"), roles=_roles,
                 needs=(_mode,), uses=(f"kaiming_uniform_(mode='{_mode}', relu)",) +
                 (("keras HeUniform",) if _mode == "fan_in" else ()))(
        lambda c, m=_mode: {"b": np.sqrt(6 / c[m])})


@register_law("kaiming_normal_fan_in_linear", "normal", libraries=("timm",), roles=("conv", "dwconv"),
              needs=("fan_in",), uses=("timm NFNet conv (kaiming_normal_ fan_in, nonlinearity='linear')",))
def _kn_linear(c):
    """N(0, 1/fan_in)"""
    return {"s": np.sqrt(1 / c["fan_in"])}


@register_law("orthogonal", "orthogonal", libraries=("torch.nn", "keras"), roles=MATRIX,
              uses=("torch.nn.init.orthogonal_", "keras Orthogonal (LSTM/GRU recurrent_kernel)"))
def _orthogonal(c):
    """orthonormal rows/columns times gain (1)"""
    return {"gain": float(c.get("gain", 1.0))}


@register_law("constant_0", "constant", libraries=("torch.nn", "torchvision", "timm", "transformers", "keras"),
              roles=MATRIX + BIAS + NORM_B + NORM_W + EMB,
              uses=("norm biases", "Linear/conv biases of most libraries", "MultiheadAttention in_proj_bias/"
                    "out_proj.bias", "zero heads (torchvision ViT, timm jax)", "timm zero_init_last (last BN "
                    "gamma)", "keras Zeros"))
def _c0(c):
    return {"c": 0.0}


@register_law("constant_1", "constant", libraries=("torch.nn", "transformers", "keras"), roles=NORM_W,
              uses=("BatchNorm/LayerNorm/GroupNorm/RMSNorm weight", "keras Ones"))
def _c1(c):
    return {"c": 1.0}


@register_law("constant", "constant", libraries=("timm", "torchvision", "keras"), roles=NORM_W + ("other",),
              needs=("value",), uses=("layer scale gamma (timm init_values 1e-5/1e-6, torchvision ConvNeXt 1e-6)",
                                      "keras Constant"))
def _constant(c):
    return {"c": float(c["value"])}


# ------------------------------------------------------------------------------------------ torchvision / timm

@register_law("timm_goog_linear", "uniform", libraries=("timm", "torchvision", "keras"), roles=("linear",),
              needs=("fan_out",), uses=("timm _init_weight_goog Linear", "torchvision EfficientNet classifier "
                                        "(uniform +-1/sqrt(out_features))",
                                        "keras EfficientNet / EfficientNetV2 DENSE_KERNEL_INITIALIZER "
                                        "VarianceScaling(1/3, fan_out, uniform)"))
def _goog_linear(c):
    """U(+-1/sqrt(fan_out))"""
    return {"b": 1 / np.sqrt(c["fan_out"])}


@register_law("lecun_normal", "truncnorm", libraries=("timm", "keras"), roles=MATRIX, needs=("fan_in",),
              uses=("timm lecun_normal_ = variance_scaling_(1, fan_in, truncated_normal) (ViT jax patch conv)",
                    "keras LecunNormal"))
def _lecun_normal(c):
    """sqrt(1/fan_in)/0.8796 * TN(-2, 2): std sqrt(1/fan_in)"""
    return tn2_params(np.sqrt(1 / c["fan_in"]))


@register_law("he_normal_trunc", "truncnorm", libraries=("keras", "timm"), roles=MATRIX, needs=("fan_in",),
              uses=("keras HeNormal", "timm variance_scaling_(2, fan_in, truncated_normal)"))
def _he_normal_trunc(c):
    """sqrt(2/fan_in)/0.8796 * TN(-2, 2)"""
    return tn2_params(np.sqrt(2 / c["fan_in"]))


@register_law("he_normal_trunc_fan_out", "truncnorm", libraries=("keras", "timm"), roles=MATRIX,
              needs=("fan_out",), uses=("keras EfficientNet / EfficientNetV2 CONV_KERNEL_INITIALIZER "
                                        "VarianceScaling(2, fan_out, truncated_normal)",
                                        "timm variance_scaling_(2, fan_out, truncated_normal)"))
def _he_normal_trunc_fan_out(c):
    """sqrt(2/fan_out)/0.8796 * TN(-2, 2)"""
    return tn2_params(np.sqrt(2 / c["fan_out"]))


@register_law("glorot_normal_trunc", "truncnorm", libraries=("keras", "timm"), roles=MATRIX,
              needs=("fan_in", "fan_out"), uses=("keras GlorotNormal", "timm variance_scaling_(1, fan_avg, "
                                                 "truncated_normal)"))
def _glorot_normal_trunc(c):
    """sqrt(2/(fan_in+fan_out))/0.8796 * TN(-2, 2)"""
    return tn2_params(np.sqrt(2 / (c["fan_in"] + c["fan_out"])))


@register_law("lecun_uniform", "uniform", libraries=("keras", "timm"), roles=MATRIX, needs=("fan_in",),
              uses=("keras LecunUniform", "timm variance_scaling_(1, fan_in, uniform)"))
def _lecun_uniform(c):
    """U(+-sqrt(3/fan_in))"""
    return {"b": np.sqrt(3 / c["fan_in"])}


@register_law("trunc_normal_fan_in", "truncnorm", libraries=("torchvision",), roles=("conv",), needs=("fan_in",),
              uses=("torchvision ViT conv_proj trunc_normal_(std=sqrt(1/fan_in)), bounds +-2 absolute",))
def _tn_fan_in(c):
    return {"s": np.sqrt(1 / c["fan_in"]), "a": -2.0, "b": 2.0}


@register_law("trunc_normal_0.02", "truncnorm", libraries=("timm", "torchvision", "transformers.ViT"),
              roles=MATRIX + EMB,
              uses=("timm trunc_normal_(std=.02) (ViT, ConvNeXt, Swin ..., bounds +-2 absolute)",
                    "torchvision ConvNeXt/Swin", "transformers ViT (trunc_normal_ at initializer_range .02)"))
def _tn002(c):
    return {"s": 0.02, "a": -2.0, "b": 2.0}


@register_law("trunc_normal_tf_0.02", "truncnorm", libraries=("timm",), roles=MATRIX + EMB,
              uses=("timm trunc_normal_tf_(std=.02): .02 * TN(-2, 2), std 0.880 * .02 (EdgeNeXt, MaxViT, "
                    "EfficientFormer ...)",))
def _tntf002(c):
    return {"s": 0.02, "a": -0.04, "b": 0.04}


@register_law("normal_0.02", "normal", libraries=("timm", "transformers"), roles=MATRIX + EMB,
              uses=("normal_(std=.02)", "transformers _init_weights at the default initializer_range"))
def _n002(c):
    return {"s": 0.02}


@register_law("normal_0.01", "normal", libraries=("torchvision", "timm"), roles=MATRIX,
              uses=("torchvision MobileNetV2/V3 classifier", "timm byobnet/RepVGG, NFNet Linear"))
def _n001(c):
    return {"s": 0.01}


@register_law("normal_1e-06", "normal", libraries=("torchvision", "timm"), roles=BIAS + EMB,
              uses=("torchvision ViT MLP biases", "timm ViT cls/reg tokens, jax-mode MLP biases"))
def _n1e6(c):
    return {"s": 1e-6}


@register_law("timm_moco_qkv", "uniform", libraries=("timm",), roles=("attn_in_proj",), needs=("fan_in", "fan_out"),
              uses=("timm ViT moco mode qkv: U(+-sqrt(6/(fan_out/3 + fan_in)))",))
def _moco_qkv(c):
    return {"b": math.sqrt(6.0 / float(c["fan_out"] // 3 + c["fan_in"]))}


@register_law("timm_repvgg_bn_weight", "normal", libraries=("timm",), roles=NORM_W,
              uses=("timm byobnet RepVggBlock.init_weights: BatchNorm weight normal_(.1, .1)",))
def _repvgg_w(c):
    return {"s": 0.1, "mu": 0.1}


@register_law("timm_repvgg_bn_bias", "normal", libraries=("timm",), roles=NORM_B,
              uses=("timm byobnet RepVggBlock.init_weights: BatchNorm bias normal_(0, .1)",))
def _repvgg_b(c):
    return {"s": 0.1}


# ------------------------------------------------------------------------------------------- transformers

@register_law("hf_normal", "normal", libraries=("transformers",), roles=MATRIX + EMB,
              defaults={"initializer_range": 0.02},
              uses=("BERT/RoBERTa/GPT-2/Llama/Whisper _init_weights Linear and Embedding: normal_(0, "
                    "initializer_range) (Whisper: init_std)", "heads added by from_pretrained"))
def _hf_normal(c):
    """N(0, initializer_range^2)"""
    return {"s": float(c["initializer_range"])}


@register_law("hf_trunc_normal", "truncnorm", libraries=("transformers",), roles=MATRIX + EMB,
              defaults={"initializer_range": 0.02},
              uses=("ViT/DeiT _init_weights Linear/Conv2d, position_embeddings, cls_token: trunc_normal_(std="
                    "initializer_range), bounds +-2 absolute",))
def _hf_tn(c):
    return {"s": float(c["initializer_range"]), "a": -2.0, "b": 2.0}


@register_law("gpt2_c_proj", "normal", libraries=("transformers",), roles=MATRIX, needs=("n_layer",),
              defaults={"initializer_range": 0.02},
              uses=("GPT-2 attn.c_proj and mlp.c_proj (2 residual paths per block)",))
def _gpt2_c_proj(c):
    """N(0, (initializer_range / sqrt(2 n_layer))^2)"""
    return {"s": float(c["initializer_range"]) / math.sqrt(2 * c["n_layer"])}


@register_law("t5_d_model", "normal", libraries=("transformers",), roles=MATRIX + EMB, needs=("d_model",),
              defaults={"initializer_factor": 1.0},
              uses=("T5 wi/wi_0/wi_1, attention k and v, relative_attention_bias, classification head",))
def _t5_dm(c):
    """N(0, (factor d_model^-0.5)^2)"""
    return {"s": c["initializer_factor"] * c["d_model"] ** -0.5}


@register_law("t5_d_ff", "normal", libraries=("transformers",), roles=MATRIX, needs=("d_ff",),
              defaults={"initializer_factor": 1.0}, uses=("T5 wo",))
def _t5_dff(c):
    """N(0, (factor d_ff^-0.5)^2)"""
    return {"s": c["initializer_factor"] * c["d_ff"] ** -0.5}


@register_law("t5_q", "normal", libraries=("transformers",), roles=MATRIX, needs=("d_model", "d_kv"),
              defaults={"initializer_factor": 1.0}, uses=("T5 attention q",))
def _t5_q(c):
    """N(0, (factor (d_model d_kv)^-0.5)^2)"""
    return {"s": c["initializer_factor"] * (c["d_model"] * c["d_kv"]) ** -0.5}


@register_law("t5_o", "normal", libraries=("transformers",), roles=MATRIX, needs=("num_heads", "d_kv"),
              defaults={"initializer_factor": 1.0}, uses=("T5 attention o",))
def _t5_o(c):
    """N(0, (factor (num_heads d_kv)^-0.5)^2)"""
    return {"s": c["initializer_factor"] * (c["num_heads"] * c["d_kv"]) ** -0.5}


# ----------------------------------------------------------------------------------------------------- keras

@register_law("keras_random_normal", "normal", libraries=("keras",), roles=MATRIX + EMB,
              uses=("keras RandomNormal() (stddev .05)",))
def _k_rn(c):
    return {"s": 0.05}


@register_law("keras_random_uniform", "uniform", libraries=("keras",), roles=MATRIX + EMB,
              uses=("keras RandomUniform() (+-.05)", "keras Embedding default ('uniform')"))
def _k_ru(c):
    return {"b": 0.05}


@register_law("keras_truncated_normal", "truncnorm", libraries=("keras",), roles=MATRIX + EMB,
              uses=("keras TruncatedNormal() (stddev .05, cut at 2 stddev)",))
def _k_tn(c):
    return {"s": 0.05, "a": -0.1, "b": 0.1}
