"""Hanin & Rolnick 2018, Fig. 1, at a CPU budget: fully connected ReLU nets with width = depth on MNIST-5k.

(a) M_d / M_0 (last hidden layer) vs depth for He normal, He uniform, 1/fan_in, 2x He, truncated He
    (probe on 256 training images, seeds 0-4);
(b) epochs to 20% test accuracy vs depth (Adam lr 1e-3, batch 64, 4,000 training / 1,000 test images,
    cap EPOCHS epochs, test accuracy every 1/4 epoch, seeds 0-4).

Usage: python scripts/repro/repro_hanin_rolnick.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from repro_common import fmt, machine_line, pyplot, save_json, savefig, update_section

INITS = ["he_normal", "he_uniform", "fan_in_1", "he_2x", "he_trunc"]
LABEL = {"he_normal": "He normal 2/n", "he_uniform": "He uniform 2/n", "fan_in_1": "1/n (fan_in_1)",
         "he_2x": "2x He 4/n", "he_trunc": "truncated He 2/n"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from paramstat.lab.probe import probe_spec
    from paramstat.lab.train import start_train

    depths_a = [5, 10, 20, 30, 50, 70, 100] if not args.quick else [5, 10, 20]
    depths_b = [10, 20, 30, 50, 70] if not args.quick else [10, 20]
    seeds = list(range(5)) if not args.quick else [0, 1]
    epochs = 5 if not args.quick else 1
    t0 = time.time()
    probe_rows = []
    for d in depths_a:
        for init in INITS:
            for s in seeds:
                r = probe_spec(f"mlp:{d}x{d}", init=init, data="mnist5k", batch=256, seed=s)
                probe_rows.append({"depth": d, "init": init, "seed": s, "ratio": r.layers[-2].M / r.M0,
                                   "log_sd": r.layers[-2].log_ratio_std, "beta": r.beta})
    print(f"probes done {time.time() - t0:.0f}s", flush=True)
    train_rows = []
    for d in depths_b:
        res = start_train(f"mlp:{d}x{d}", data="mnist5k", inits=INITS, seeds=seeds, target=0.2, epochs=epochs,
                          optim="adam", lr=1e-3, batch_size=64, stop_at_target=True)
        for r in res.runs:
            train_rows.append({"depth": d, "init": r.init, "seed": r.seed, "epochs_to_target": r.epochs_to_target,
                               "best_acc": r.best_acc, "diverged": r.diverged, "seconds": r.seconds})
        print(f"depth {d} trained {time.time() - t0:.0f}s", flush=True)
    cfg = {"depths_probe": depths_a, "depths_train": depths_b, "seeds": seeds, "epochs_cap": epochs,
           "optim": "adam", "lr": 1e-3, "batch": 64, "n_train": 4000, "n_test": 1000, "probe_batch": 256,
           "seconds": time.time() - t0, "machine": machine_line()}
    save_json("hanin_rolnick" + ("_quick" if args.quick else ""), {"config": cfg, "probe": probe_rows,
                                                                   "train": train_rows})
    if args.quick:
        return
    report(cfg, probe_rows, train_rows)


def report(cfg, probe_rows, train_rows):
    plt = pyplot()

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for init in INITS:
        ds = cfg["depths_probe"]
        lg = [np.log10([r["ratio"] for r in probe_rows if r["depth"] == d and r["init"] == init]) for d in ds]
        ax[0].errorbar(ds, [v.mean() for v in lg], yerr=[v.std() for v in lg], marker="o", ms=3, capsize=2,
                       label=LABEL[init])
        db = cfg["depths_train"]
        ep = []
        for d in db:
            v = [r["epochs_to_target"] for r in train_rows if r["depth"] == d and r["init"] == init]
            v = [cfg["epochs_cap"] * 1.1 if x is None else x for x in v]
            ep.append(v)
        ax[1].errorbar(db, [np.mean(v) for v in ep], yerr=[np.std(v) for v in ep], marker="o", ms=3, capsize=2,
                       label=LABEL[init])
    ax[0].set_xlabel("depth d (= width)")
    ax[0].set_ylabel("log10 M_d / M_0 (mean ± sd over 5 seeds)")
    ax[0].set_title("(a) FM1: length scale of the last hidden layer")
    ax[1].axhline(cfg["epochs_cap"], ls="--", color="grey", lw=1)
    ax[1].set_xlabel("depth d (= width)")
    ax[1].set_ylabel(f"epochs to 20% test acc. (not reached: plotted at {cfg['epochs_cap'] * 1.1:.1f})")
    ax[1].set_title("(b) epochs to 20% on MNIST-5k (Adam 1e-3)")
    ax[0].legend(fontsize=8)
    savefig(fig, "hanin_rolnick_fig1.png")

    lines = [f"Budget: depths {cfg['depths_train']} (training) and {cfg['depths_probe']} (probe), width = depth, "
             f"seeds {cfg['seeds']}, Adam lr {cfg['lr']}, batch {cfg['batch']}, {cfg['n_train']} training / "
             f"{cfg['n_test']} test images of MNIST-5k (pixels in [0, 1]), at most {cfg['epochs_cap']} epochs, test "
             f"accuracy every 1/4 epoch; probe on {cfg['probe_batch']} training images. "
             f"Wall time {cfg['seconds'] / 60:.1f} min on {cfg['machine']}. "
             "Script: `python scripts/repro/repro_hanin_rolnick.py`.", "",
             "![Hanin & Rolnick Fig. 1 reproduction](img/hanin_rolnick_fig1.png)", "",
             "(a) log10 M_d/M_0 of the last hidden layer, mean over 5 seeds:", "",
             "| init | " + " | ".join(f"d={d}" for d in cfg["depths_probe"]) + " |",
             "|---|" + "---|" * len(cfg["depths_probe"])]
    for init in INITS:
        vals = [np.mean(np.log10([r["ratio"] for r in probe_rows if r["depth"] == d and r["init"] == init]))
                for d in cfg["depths_probe"]]
        lines.append(f"| {LABEL[init]} | " + " | ".join(fmt(v, ".2f") for v in vals) + " |")
    lines += ["", "(b) runs reaching 20% test accuracy / 5 and median epochs to reach it:", "",
              "| init | " + " | ".join(f"d={d}" for d in cfg["depths_train"]) + " |",
              "|---|" + "---|" * len(cfg["depths_train"])]
    for init in INITS:
        cells = []
        for d in cfg["depths_train"]:
            v = [r["epochs_to_target"] for r in train_rows if r["depth"] == d and r["init"] == init]
            hit = [x for x in v if x is not None]
            cells.append(f"{len(hit)}/{len(v)}" + (f", {np.median(hit):.2f} ep" if hit else ""))
        lines.append(f"| {LABEL[init]} | " + " | ".join(cells) + " |")
    update_section("hanin-rolnick", "\n".join(lines))


if __name__ == "__main__":
    main()
