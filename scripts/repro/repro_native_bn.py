"""Eval- and train-mode output std of native and classic inits of BatchNorm timm models, against each
model's own fresh init (timm, pretrained=False), on one fixed N(0, 1) batch (8 x 3 x 64 x 64, its own seed
stream). Writes zoo/lab/native_bn.json and the table in docs/INIT.md (section native-bn).

Usage: python scripts/repro/repro_native_bn.py [--models a,b] [--size 64]
"""
from __future__ import annotations

import argparse
import time

from _benchdoc import replace_section
from repro_common import ROOT, machine_line, save_json

MODELS = ["resnet18", "resnet50", "efficientnet_b0", "mobilenetv3_large_100", "regnety_004", "ghostnet_100",
          "densenet121", "resnext50_32x4d", "levit_128s"]
VARIANTS = [("own init", "default", {}), ("native (auto, default)", "native", {}),
            ("native, fan scale", "native", {"scale": "fan"}),
            ("native, profile scale, no constants kept", "native", {"scale": "profile", "keep_constants": False}),
            ("kaiming_normal", "kaiming_normal", {}), ("xavier_uniform", "xavier_uniform", {})]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from paramstat.init import apply_init
    from paramstat.init.generate import build_model, example_input, forward_stds

    t0 = time.time()
    rows = []
    for name in a.models.split(","):
        row = {"model": name}
        x = None
        for label, scheme, kw in VARIANTS:
            m = build_model(name)
            if x is None:
                x = example_input(m, name, batch=8, size=a.size)
                try:
                    forward_stds(m, x)
                except (RuntimeError, AssertionError):   # fixed-resolution models (LeViT): their own size
                    x = example_input(m, name, batch=8)
            apply_init(m, scheme, seed=0, profile="default", **kw)
            ev, tr = forward_stds(m, x)
            row[label] = {"eval": ev, "train": tr}
            print(name, label, f"{ev:.3g} {tr:.3g}", flush=True)
        row["input"] = list(x.shape)
        rows.append(row)
    secs = time.time() - t0
    save_json("native_bn", {"rows": rows, "seconds": secs, "machine": machine_line()})
    lines = [f"Output std of each init in eval mode (BatchNorm running stats 0 / 1 as built) / train mode (batch "
             f"statistics), one fixed N(0, 1) batch {rows[0]['input']}, seed 0, default profile; ratio = eval std / "
             f"the own init's eval std. Wall time {secs / 60:.1f} min on {machine_line()}. "
             "Script: `python scripts/repro/repro_native_bn.py`.", "",
             "| model | " + " | ".join(v[0] for v in VARIANTS) + " | native eval ratio |",
             "|---|" + "---|" * (len(VARIANTS) + 1)]
    for r in rows:
        own = r["own init"]["eval"]
        cells = [f"{r[v[0]]['eval']:.3g} / {r[v[0]]['train']:.3g}" for v in VARIANTS]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {r['native (auto, default)']['eval'] / own:.2g} |")
    replace_section(ROOT / "docs" / "INIT.md", "init", "native-bn", "\n".join(lines), "# Inits")


if __name__ == "__main__":
    main()
