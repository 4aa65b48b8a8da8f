"""The seed's question: does a "native" init (paramstat.init 'native', a profile fitted on trained nets of
the same architecture trained on a DIFFERENT data set) start training faster than He, Xavier and LSUV?

1. Train N_SRC `cnn` nets (3x3 convs 16,32,32, ReLU, global average pool, Linear head) on MNIST-5k from
   He-normal inits (seeds 100..), Adam lr 1e-3, batch 64, SRC_EPOCHS epochs; save their state_dicts under
   zoo/lab/native_src/ (our own training: the only provenance these weights have).
2. `paramstat.init.fit_profile` on them -> zoo/lab/cnn_mnist5k_profile.json.
3. Train the same architecture on Shapeset-3x2 (10,000 / 2,000 images, 9 classes) from inits native,
   he_normal, xavier_uniform, lsuv and default (PyTorch's), seeds 0..4, SGD momentum 0.9 lr 0.01,
   batch 64, EPOCHS epochs, test accuracy every EVAL steps; steps to 20% and to 40% test accuracy.

Usage: python scripts/repro/repro_native.py [--src15] [--report]
"""
from __future__ import annotations

import json
import time

import numpy as np
from repro_common import (
    RESULTS,
    fmt,
    machine_line,
    main_or_report,
    plot_mean_curves,
    save_json,
    savefig,
    steps_to,
    update_section,
)

ARCH = "cnn"
N_SRC, SRC_EPOCHS = 4, 4
TAG = ""  # "--src15": sources trained 15 epochs instead of 4
INITS = ["native", "he_normal", "xavier_uniform", "lsuv", "default"]
SEEDS = [0, 1, 2, 3, 4]
EPOCHS, EVAL, LR = 3, 20, 0.01
TARGETS = (0.2, 0.4)


def main():
    import torch

    torch.set_num_threads(1)
    from paramstat.init import fit_profile
    from paramstat.lab.archs import build_model
    from paramstat.lab.datasets import load_dataset
    from paramstat.lab.inits import init_model
    from paramstat.lab.train import start_train, train_run

    t0 = time.time()
    src_dir = RESULTS / "native_src"
    src_dir.mkdir(parents=True, exist_ok=True)
    Xtr, ytr = load_dataset("mnist5k", "train")
    Xte, yte = load_dataset("mnist5k", "test")
    paths, src_acc = [], []
    for k in range(N_SRC):
        p = src_dir / f"cnn_mnist5k{TAG}_s{100 + k}.pt"
        meta = p.with_suffix(".json")
        if not p.exists():
            m = build_model(ARCH, Xtr.shape[1:], 10, "relu", seed=100 + k)
            init_model(m, "he_normal", seed=100 + k)
            r = train_run(m, Xtr, ytr, Xte, yte, epochs=SRC_EPOCHS, optim="adam", lr=1e-3, seed=100 + k)
            torch.save(m.state_dict(), p)
            meta.write_text(json.dumps({"final_acc": r.final_acc, "steps": r.steps, "epochs": SRC_EPOCHS,
                                        "data": "mnist5k", "init": "he_normal", "optim": "adam 1e-3"}))
        src_acc.append(json.loads(meta.read_text())["final_acc"])
        paths.append(str(p))
    print("sources", src_acc, f"{time.time() - t0:.0f}s", flush=True)
    prof = fit_profile(paths)
    prof_path = RESULTS / f"cnn_mnist5k{TAG}_profile.json"
    prof_path.write_text(json.dumps(prof, indent=1, default=float))
    print("profile fitted", f"{time.time() - t0:.0f}s", flush=True)
    res = start_train(ARCH, act="relu", data="shapeset", inits=INITS, seeds=SEEDS, target=TARGETS[0], epochs=EPOCHS,
                      lr=LR, optim="sgd", eval_every=EVAL, profile=str(prof_path))
    runs = [{"init": r.init, "seed": r.seed, "final_acc": r.final_acc, "best_acc": r.best_acc,
             "curve": r.curve, "steps_per_epoch": r.steps_per_epoch,
             **{f"steps_to_{int(100 * t)}": steps_to(r.curve, t) for t in TARGETS}} for r in res.runs]
    cfg = {"arch": ARCH, "src": {"n": N_SRC, "data": "mnist5k", "epochs": SRC_EPOCHS, "optim": "adam 1e-3",
                                 "final_acc": src_acc},
           "target": {"data": "shapeset", "n_train": 10000, "n_test": 2000, "epochs": EPOCHS, "optim": "sgd m0.9",
                      "lr": LR, "batch": 64, "eval_every": EVAL, "seeds": SEEDS},
           "seconds": time.time() - t0, "machine": machine_line()}
    save_json("native" + TAG, {"config": cfg, "runs": runs})
    report(cfg, runs)


def report(cfg, runs):
    fig = plot_mean_curves(runs, INITS, "SGD step (Shapeset-3x2)", f"test accuracy (mean of {len(SEEDS)} seeds)",
                           "cnn on Shapeset-3x2; 'native' = profile fitted on cnn nets trained on MNIST-5k",
                           hlines=TARGETS)
    savefig(fig, f"native_vs_classic{TAG}.png")
    src = cfg["src"]
    tg = cfg["target"]
    lines = [f"Budget: profile fitted on {src['n']} `cnn` nets (3x3 convs 16,32,32, ReLU, GAP, Linear) trained on "
             f"MNIST-5k from He-normal inits ({src['optim']}, {src['epochs']} epochs; test accuracy "
             + ", ".join(f"{a:.3f}" for a in src["final_acc"]) + "). Then the same architecture on Shapeset-3x2 "
             f"({tg['n_train']:,} / {tg['n_test']:,} images, 9 classes), SGD momentum 0.9 lr {tg['lr']}, batch "
             f"{tg['batch']}, {tg['epochs']} epochs, test accuracy every {tg['eval_every']} steps, seeds {tg['seeds']}. "
             f"Wall time {cfg['seconds'] / 60:.1f} min on {cfg['machine']}. Script: `python scripts/repro/repro_native.py`.",
             "", f"![native vs classic inits](img/native_vs_classic{TAG}.png)", "",
             "| init | reached 20% | median steps to 20% | reached 40% | median steps to 40% | "
             "final accuracy (mean ± sd) |", "|---|---|---|---|---|---|"]
    for init in INITS:
        rs = [r for r in runs if r["init"] == init]
        cells = []
        for t in TARGETS:
            v = [r[f"steps_to_{int(100 * t)}"] for r in rs if r[f"steps_to_{int(100 * t)}"] is not None]
            cells += [f"{len(v)}/{len(rs)}", fmt(float(np.median(v)) if v else None, ".0f")]
        fa = [r["final_acc"] for r in rs]
        lines.append(f"| {init} | " + " | ".join(cells) + f" | {np.mean(fa):.3f} ± {np.std(fa):.3f} |")
    update_section("native" + TAG, "\n".join(lines))


if __name__ == "__main__":
    import sys

    if "--src15" in sys.argv:
        SRC_EPOCHS, TAG, SEEDS = 15, "-src15", [0, 1, 2]
    main_or_report(main, report, "native" + TAG, "runs")
