"""Fresh (untrained) models of many architectures from five libraries, at seeds and dtypes the fitting never used.

Libraries: torch.nn (modules built here), torchvision (`weights=None`), timm (`pretrained=False`), Hugging Face
transformers (a model built from a small config, so `_init_weights` runs) and Keras 3 (KERAS_BACKEND=torch,
`weights=None` applications and small functional models). Every file's truth is `untrained`, every tensor's
too. Seed 4242 everywhere (the fitting and the zoo use seeds 0-3, 5, 7, 11, 12, 100+k and 1000+k); dtypes
float32 plus float16 / bfloat16 / float64 copies of some (the zoo has bf16 resnet18 and fp16 convnext_atto only).
Saved as a user would: torch state dicts (.pt), safetensors (`safetensors.torch.save_model`, which drops tied
duplicates), `save_pretrained` folders' model.safetensors, and `.keras`.

Reported per file, per library and per architecture family: the checkpoint verdict, and the count of tensors of
>= 256 values called `trained` (target 0) with their names.

Writes the tables into docs/VERDICTS.md between <!-- verdicts:fresh_arch --> markers.
Usage: python scripts/repro/fresh_arch_check.py [--only LIB] [--work DIR] [--no-doc] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "VERDICTS.md"
SEED = 4242
BIG = 256          # tensors of at least this many values are the ones the targets count

# ------------------------------------------------------------------------------------------------- torch.nn


def _nn_models():
    import torch
    from torch import nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5000, 256)
            self.enc = nn.LSTM(256, 256, num_layers=2, batch_first=True)
            self.dec = nn.GRU(256, 256, batch_first=True)
            self.out = nn.Linear(256, 5000)

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(256, 8)
            self.mha_kv = nn.MultiheadAttention(256, 4, kdim=128, vdim=96)
            self.ln = nn.LayerNorm(256)

    return [
        ("mlp", "mlp", lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256),
                                             nn.ReLU(), nn.Linear(256, 10)), None),
        ("mlp (float64)", "mlp", lambda: nn.Sequential(nn.Linear(300, 1000), nn.Tanh(), nn.Linear(1000, 100)),
         torch.float64),
        ("cnn2d+bn", "cnn", lambda: nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm2d(32), nn.ReLU(),
                                                  nn.Conv2d(32, 64, 3, stride=2), nn.BatchNorm2d(64), nn.ReLU(),
                                                  nn.Conv2d(64, 128, 3, groups=64), nn.Flatten(),
                                                  nn.Linear(128 * 4, 10)), None),
        ("conv1d+groupnorm", "cnn", lambda: nn.Sequential(nn.Conv1d(40, 128, 5), nn.GroupNorm(8, 128),
                                                          nn.Conv1d(128, 256, 3, dilation=2), nn.Conv1d(256, 64, 1)),
         None),
        ("conv3d", "cnn", lambda: nn.Sequential(nn.Conv3d(1, 16, 3), nn.Conv3d(16, 32, 3), nn.BatchNorm3d(32)), None),
        ("convtranspose2d decoder (bfloat16)", "cnn",
         lambda: nn.Sequential(nn.Linear(64, 256 * 4 * 4), nn.ConvTranspose2d(256, 128, 4, 2, 1),
                               nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ConvTranspose2d(64, 3, 4, 2, 1)),
         torch.bfloat16),
        ("lstm 2-layer bidirectional", "rnn", lambda: nn.LSTM(80, 192, num_layers=2, bidirectional=True), None),
        ("lstm with proj_size", "rnn", lambda: nn.LSTM(64, 256, proj_size=96), None),
        ("gru 3-layer", "rnn", lambda: nn.GRU(128, 256, num_layers=3), None),
        ("rnn tanh (float16)", "rnn", lambda: nn.RNN(64, 512, num_layers=2), torch.float16),
        ("embedding + lstm + gru seq2seq", "rnn", Seq2Seq, None),
        ("transformer encoder", "transformer",
         lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(256, 4, 1024), 3, enable_nested_tensor=False),
         None),
        ("nn.Transformer", "transformer", lambda: nn.Transformer(128, 4, 2, 2, 512), None),
        ("multihead attention (kdim/vdim)", "transformer", Attn, None),
    ]


def build_nn(work: Path):
    import torch

    out = []
    for name, fam, ctor, dtype in _nn_models():
        torch.manual_seed(SEED)
        m = ctor()
        if dtype is not None:
            m = m.to(dtype)
        p = work / f"nn_{len(out)}.pt"
        torch.save(m.state_dict(), p)
        out.append(p)
        yield "torch.nn", fam, name, p


# ---------------------------------------------------------------------------------------------- torchvision
TV = [  # (arch, family, dtype)
    ("resnet50", "resnet", None), ("wide_resnet50_2", "resnet", "float16"), ("resnext50_32x4d", "resnet", None),
    ("mobilenet_v3_large", "mobilenet", None), ("mnasnet0_5", "mobilenet", None),
    ("shufflenet_v2_x0_5", "shufflenet", None), ("squeezenet1_0", "squeezenet", None),
    ("densenet121", "densenet", None), ("googlenet", "inception", None),
    ("regnet_x_400mf", "regnet", None), ("efficientnet_v2_s", "efficientnet", "bfloat16"),
    ("convnext_tiny", "convnext", None), ("swin_t", "swin", None), ("vit_b_32", "vit", None),
    ("maxvit_t", "maxvit", None), ("alexnet", "alexnet", None),
]


def build_tv(work: Path):
    import torch
    import torchvision
    from safetensors.torch import save_model

    for arch, fam, dt in TV:
        torch.manual_seed(SEED)
        kw = {"aux_logits": False, "init_weights": True} if arch == "googlenet" else {}
        try:
            m = getattr(torchvision.models, arch)(weights=None, **kw)
            if dt:
                m = m.to(getattr(torch, dt))
            p = work / f"tv_{arch}.safetensors"
            save_model(m, str(p))
        except Exception as err:  # noqa: BLE001 - one model that cannot be built is a row, not a crash
            p = err
        yield "torchvision", fam, arch + (f" ({dt})" if dt else ""), p


# ----------------------------------------------------------------------------------------------------- timm
TIMM = [  # (arch, family, dtype); * = a family the fitting saw at other seeds
    ("edgenext_xx_small", "edgenext", None), ("repvgg_a0", "repvgg", None), ("deit_tiny_distilled_patch16_224",
                                                                           "vit", None),
    ("convnext_atto", "convnext", "bfloat16"), ("efficientnet_b0", "efficientnet", "float16"),
    ("mobilevit_xxs", "mobilevit", None), ("levit_128s", "levit", None), ("regnetx_002", "regnet", None),
    ("ghostnet_100", "ghostnet", None), ("poolformer_s12", "metaformer", None), ("lcnet_050", "mobilenet", None),
    ("tinynet_a", "efficientnet", None), ("fastvit_t8", "fastvit", None), ("efficientformer_l1", "efficientformer",
                                                                          None),
    ("xcit_nano_12_p16_224", "xcit", None), ("coat_lite_tiny", "coat", None), ("pit_ti_224", "pit", None),
    ("cait_xxs24_224", "cait", None), ("crossvit_tiny_240", "crossvit", None), ("hrnet_w18_small", "hrnet", None),
    ("dla34", "dla", None), ("nf_resnet26", "nfnet", None), ("resnet18d", "resnet", None),
    ("seresnext26d_32x4d", "resnet", None), ("gmlp_ti16_224", "mixer", None), ("rexnet_100", "rexnet", None),
    ("mobileone_s0", "mobileone", None), ("efficientvit_b0", "efficientvit", None),
    ("swin_tiny_patch4_window7_224", "swin", None), ("beit_base_patch16_224", "beit", None),
]


def build_timm(work: Path):
    import timm
    import torch
    from safetensors.torch import save_model

    for arch, fam, dt in TIMM:
        torch.manual_seed(SEED)
        try:
            m = timm.create_model(arch, pretrained=False)
            if dt:
                m = m.to(getattr(torch, dt))
            p = work / f"timm_{arch}.safetensors"
            save_model(m, str(p))
        except Exception as err:  # noqa: BLE001
            p = err
        yield "timm", fam, arch + (f" ({dt})" if dt else ""), p


# --------------------------------------------------------------------------------------------- transformers
def _hf_models():
    import transformers as T

    small = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024)
    return [
        ("bert", "bert", lambda: T.BertForSequenceClassification(T.BertConfig(vocab_size=8000, num_labels=3,
                                                                               **small))),
        ("roberta", "bert", lambda: T.RobertaModel(T.RobertaConfig(vocab_size=8000, **small))),
        ("distilbert", "bert", lambda: T.DistilBertModel(T.DistilBertConfig(vocab_size=8000, dim=256, n_layers=2,
                                                                             n_heads=4, hidden_dim=1024))),
        ("albert", "bert", lambda: T.AlbertModel(T.AlbertConfig(vocab_size=8000, embedding_size=128, **small))),
        ("electra", "bert", lambda: T.ElectraModel(T.ElectraConfig(vocab_size=8000, embedding_size=128, **small))),
        ("deberta-v2", "bert", lambda: T.DebertaV2Model(T.DebertaV2Config(vocab_size=8000, **small))),
        ("gpt2", "gpt", lambda: T.GPT2LMHeadModel(T.GPT2Config(vocab_size=8000, n_embd=256, n_layer=4, n_head=4))),
        ("gpt-neo", "gpt", lambda: T.GPTNeoModel(T.GPTNeoConfig(vocab_size=8000, hidden_size=256, num_layers=2,
                                                                 attention_types=[[["global", "local"], 1]],
                                                                 num_heads=4))),
        ("opt", "gpt", lambda: T.OPTModel(T.OPTConfig(vocab_size=8000, hidden_size=256, num_hidden_layers=2,
                                                       ffn_dim=1024, num_attention_heads=4, word_embed_proj_dim=256))),
        ("llama", "llama", lambda: T.LlamaForCausalLM(T.LlamaConfig(vocab_size=8000, num_key_value_heads=2,
                                                                     **small))),
        ("mistral", "llama", lambda: T.MistralModel(T.MistralConfig(vocab_size=8000, num_key_value_heads=2,
                                                                     **small))),
        ("qwen2", "llama", lambda: T.Qwen2Model(T.Qwen2Config(vocab_size=8000, num_key_value_heads=2, **small))),
        ("t5", "t5", lambda: T.T5Model(T.T5Config(vocab_size=8000, d_model=256, d_kv=64, d_ff=1024, num_layers=2,
                                                   num_heads=4))),
        ("bart", "bart", lambda: T.BartModel(T.BartConfig(vocab_size=8000, d_model=256, encoder_layers=2,
                                                           decoder_layers=2, encoder_attention_heads=4,
                                                           decoder_attention_heads=4, encoder_ffn_dim=1024,
                                                           decoder_ffn_dim=1024))),
        ("whisper", "whisper", lambda: T.WhisperModel(T.WhisperConfig(vocab_size=8000, d_model=256, pad_token_id=7999,
                                                                       bos_token_id=7998, eos_token_id=7997,
                                                                       decoder_start_token_id=7996,
                                                                       encoder_layers=2, decoder_layers=2,
                                                                       encoder_attention_heads=4,
                                                                       decoder_attention_heads=4,
                                                                       encoder_ffn_dim=1024, decoder_ffn_dim=1024))),
        ("vit", "vit", lambda: T.ViTModel(T.ViTConfig(image_size=64, patch_size=8, **small))),
        ("swin", "swin", lambda: T.SwinModel(T.SwinConfig(image_size=64, embed_dim=48, depths=[2, 2],
                                                          num_heads=[2, 4]))),
        ("convnext", "convnext", lambda: T.ConvNextModel(T.ConvNextConfig(hidden_sizes=[48, 96, 192, 384],
                                                                           depths=[1, 1, 2, 1]))),
        ("wav2vec2", "wav2vec2", lambda: T.Wav2Vec2Model(T.Wav2Vec2Config(**small))),
        ("clip", "clip", lambda: T.CLIPModel(T.CLIPConfig(
            text_config=dict(vocab_size=8000, **small), vision_config=dict(image_size=64, patch_size=8, **small)))),
        ("mobilebert", "bert", lambda: T.MobileBertModel(T.MobileBertConfig(vocab_size=8000, num_hidden_layers=4))),
        ("segformer", "segformer", lambda: T.SegformerModel(T.SegformerConfig())),
    ]


def build_hf(work: Path):
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    for name, fam, ctor in _hf_models():
        torch.manual_seed(SEED)
        d = work / f"hf_{name}"
        try:
            ctor().eval().save_pretrained(str(d))
            p = d / "model.safetensors"
        except Exception as err:  # noqa: BLE001
            p = err
        yield "transformers", fam, name, p


# ---------------------------------------------------------------------------------------------------- Keras
# (NASNetMobile is "not available with the torch backend" in keras 3, which has no RegNets)
KERAS_APPS = [("MobileNetV3Small", "mobilenet"), ("EfficientNetV2B0", "efficientnet"), ("Xception", "xception"),
              ("MobileNet", "mobilenet"), ("InceptionV3", "inception"), ("EfficientNetB3", "efficientnet"),
              ("ResNet50V2", "resnet"), ("DenseNet121", "densenet"), ("ConvNeXtTiny", "convnext")]
KERAS_SMALL = [("dense mlp", "mlp"), ("conv1d", "cnn"), ("lstm", "rnn"), ("gru (bidirectional)", "rnn"),
               ("simplernn", "rnn"), ("embedding + multi-head attention", "transformer")]

KERAS_CHILD = r"""
import sys, keras
from keras import layers as L, applications as A
keras.utils.set_random_seed(int(sys.argv[2]))
out = sys.argv[1]
apps = sys.argv[3].split(",")
for name in apps:
    try:
        m = getattr(A, name)(weights=None, input_shape=(224, 224, 3))
    except Exception as err:
        print("FAILED", name, type(err).__name__, err, file=sys.stderr, flush=True)
        continue
    m.save(f"{out}/keras_{name}.keras"); print(name, m.count_params(), flush=True)
def small(name):
    if name == "dense mlp":
        return keras.Sequential([keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(256), L.Dense(10)])
    if name == "conv1d":
        return keras.Sequential([keras.Input((100, 40)), L.Conv1D(128, 5), L.BatchNormalization(), L.Conv1D(256, 3),
                                 L.GlobalAveragePooling1D(), L.Dense(10)])
    if name == "lstm":
        return keras.Sequential([keras.Input((50, 64)), L.LSTM(256, return_sequences=True), L.LSTM(128), L.Dense(10)])
    if name == "gru (bidirectional)":
        return keras.Sequential([keras.Input((50, 64)), L.Bidirectional(L.GRU(192)), L.Dense(10)])
    if name == "simplernn":
        return keras.Sequential([keras.Input((50, 64)), L.SimpleRNN(512), L.Dense(10)])
    x = keras.Input((32,), dtype="int32")
    e = L.Embedding(8000, 256)(x)
    a = L.MultiHeadAttention(4, 64)(e, e)
    a = L.LayerNormalization()(a + e)
    return keras.Model(x, L.Dense(8000)(L.Dense(1024, activation="gelu")(a)))
for i, name in enumerate(sys.argv[4].split(",")):
    m = small(name)
    m.save(f"{out}/keras_small{i}.keras"); print(name, m.count_params(), flush=True)
"""


def build_keras(work: Path, python: str) -> tuple[list[tuple], str]:
    env = dict(os.environ, KERAS_BACKEND="torch")
    cp = subprocess.run([python, "-c", KERAS_CHILD, str(work), str(SEED), ",".join(a for a, _ in KERAS_APPS),
                         ",".join(n for n, _ in KERAS_SMALL)], capture_output=True, text=True, env=env)
    if cp.returncode != 0:
        return [], "keras failed: " + (cp.stderr.strip().splitlines() or ["?"])[-1][:200]
    ver = subprocess.run([python, "-c", "import keras; print(keras.__version__)"], capture_output=True, text=True,
                         env=env).stdout.strip()
    out = [("Keras", fam, name, work / f"keras_{name}.keras"
            if (work / f"keras_{name}.keras").exists() else RuntimeError(f"keras could not build {name}"))
           for name, fam in KERAS_APPS]
    out += [("Keras", fam, name, work / f"keras_small{i}.keras") for i, (name, fam) in enumerate(KERAS_SMALL)]
    return out, f"keras {ver}"


# ----------------------------------------------------------------------------------------------------- scan
def scan(lib: str, fam: str, name: str, path) -> dict:
    import paramstat

    if isinstance(path, Exception):
        return {"library": lib, "family": fam, "arch": name, "file": "", "format": "", "params": 0, "tensors": 0,
                "verdict": "error", "score": float("nan"), "big": 0, "big_untrained": 0, "big_undetermined": 0,
                "big_trained": 0, "trained_names": [f"{type(path).__name__}: {path}"[:150]], "seconds": 0.0}
    t = time.perf_counter()
    r = paramstat.scan(str(path), progress=False)
    big = [x for x in r.tensors if x.numel >= BIG]
    wrong = [x.name for x in big if x.verdict == "trained"]
    return {"library": lib, "family": fam, "arch": name, "file": path.name, "format": r.format,
            "params": r.n_params, "tensors": len(r.tensors), "verdict": r.verdict, "score": r.score,
            "big": len(big), "big_untrained": sum(x.verdict == "untrained" for x in big),
            "big_undetermined": sum(x.verdict == "undetermined" for x in big),
            "big_trained": len(wrong), "trained_names": wrong[:8], "seconds": time.perf_counter() - t}


def summarise(rows: list[dict], key) -> list[tuple]:
    g = defaultdict(list)
    for r in rows:
        g[key(r)].append(r)
    return [(k, len(v), sum(r["verdict"] == "untrained" for r in v), sum(r["big"] for r in v),
             sum(r["big_trained"] for r in v), sum(r["big_undetermined"] for r in v)) for k, v in sorted(g.items())]


def markdown(rows: list[dict], note: str, seconds: float) -> str:
    ok = sum(r["verdict"] == "untrained" for r in rows)
    big = sum(r["big"] for r in rows)
    bad = sum(r["big_trained"] for r in rows)
    und = sum(r["big_undetermined"] for r in rows)
    md = ["## Fresh models of many architectures, five libraries (never used in fitting)", "",
          f"`python scripts/repro/fresh_arch_check.py` ({note}; seed {SEED}; {seconds:.0f} s). Each file is a model "
          "built by its own library's code and never trained: truth `untrained` for the file and for every tensor. "
          "The seed and the float16 / bfloat16 / float64 copies are ones the fitting never used; architectures "
          "marked in the family column with the same name as a zoo family (resnet, efficientnet, mobilenet, "
          "convnext, vit, regnet, densenet, mixer, ghostnet, levit, dla) were in the fitting at other seeds, "
          "the rest never were.", "",
          f"**{ok} of {len(rows)} files `untrained`; tensors of >= {BIG} values called trained: {bad} of {big} "
          f"({100 * bad / max(big, 1):.2f}%); undetermined: {und}.**", "",
          "By library:", "",
          "| library | files | untrained | tensors >= 256 | called trained | undetermined |", "|---|---|---|---|---|---|"]
    md += [f"| {k} | {n} | {u} | {b} | {t} | {d} |" for k, n, u, b, t, d in summarise(rows, lambda r: r["library"])]
    md += ["", "By architecture family (all libraries):", "",
           "| family | files | untrained | tensors >= 256 | called trained | undetermined |", "|---|---|---|---|---|---|"]
    md += [f"| {k} | {n} | {u} | {b} | {t} | {d} |" for k, n, u, b, t, d in summarise(rows, lambda r: r["family"])]
    md += ["", "Per file (✗ = not `untrained`):", "",
           "| library | architecture | family | format | params | verdict | P(trained) | tensors >= 256 | "
           "called trained | undet. | names called trained |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = "" if r["verdict"] == "untrained" else " ✗"
        names = ", ".join(f"`{n}`" for n in r["trained_names"])
        md.append(f"| {r['library']} | {r['arch']} | {r['family']} | {r['format']} | {r['params']:,} | "
                  f"**{r['verdict']}**{mark} | {r['score']:.3f} | {r['big']} | {r['big_trained']} | "
                  f"{r['big_undetermined']} | {names} |")
    return "\n".join(md)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["torch.nn", "torchvision", "timm", "transformers", "keras"])
    ap.add_argument("--keras-python", default=sys.executable, help="an interpreter with keras 3 (default: this one)")
    ap.add_argument("--work", help="folder for the generated files (default: a temp folder, deleted)")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    note = []
    with tempfile.TemporaryDirectory(prefix="paramstat-fresh-") as tmp:
        work = Path(a.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        builders = {"torch.nn": build_nn, "torchvision": build_tv, "timm": build_timm, "transformers": build_hf}
        for lib, build in builders.items():
            if a.only and a.only != lib:
                continue
            for item in build(work):
                rows.append(scan(*item))
                r = rows[-1]
                print(f"{r['library']:12s} {r['arch']:40s} {r['verdict']:10s} P={r['score']:.3f} "
                      f"big={r['big']} trained={r['big_trained']} {r['trained_names'][:3]}", flush=True)
        if a.only in (None, "keras"):
            files, kn = build_keras(work, a.keras_python)
            note.append(kn)
            for item in files:
                rows.append(scan(*item))
                r = rows[-1]
                print(f"{r['library']:12s} {r['arch']:40s} {r['verdict']:10s} P={r['score']:.3f} "
                      f"big={r['big']} trained={r['big_trained']} {r['trained_names'][:3]}", flush=True)
    import timm
    import torchvision
    import transformers

    note = [f"torch.nn + torchvision {torchvision.__version__}, timm {timm.__version__}, transformers "
            f"{transformers.__version__}"] + note
    md = markdown(rows, "; ".join(note), time.perf_counter() - t0)
    print(md.split("\n")[4])
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    if not a.no_doc and not a.only:
        sys.path.insert(0, str(ROOT / "scripts" / "bench"))
        from _benchdoc import replace_section

        replace_section(DOC, "verdicts", "fresh_arch", md, "# Verdicts\n")
        print(f"wrote {DOC}")
    return 0 if all(r["verdict"] == "untrained" and not r["big_trained"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
