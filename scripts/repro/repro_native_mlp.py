"""The seed's question with an architecture that trains within a CPU budget: MLP 784-128-128-128-head.

1. Sources: N_SRC MLPs trained from He-normal inits (Adam lr 1e-3, batch 64, SRC_EPOCHS epochs) on
   (a) Shapeset-3x2 rendered at 28x28 (`shapeset.generate(10000, seed=0, size=28)`, 9 classes: a different
   data set) and (b) MNIST-5k itself (seeds 200..: the same data set, as a control). State_dicts under
   zoo/lab/native_mlp/ (our own training).
2. `paramstat.init.fit_profile` on each group -> two profiles.
3. Target: MNIST-5k (4,000 / 1,000), SGD momentum 0.9 lr LR, batch 64, EPOCHS epochs, test accuracy every
   EVAL steps, seeds SEEDS; inits native(shapeset), native(mnist), he_normal, xavier_uniform, lsuv, default.
   Steps to 20% / 50% / 80% test accuracy.

Usage: python scripts/repro/repro_native_mlp.py
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

HIDDEN = [128, 128, 128]
N_SRC, SRC_EPOCHS = 4, 20
SEEDS = list(range(10))
EPOCHS, EVAL, LR = 3, 5, 0.01
TARGETS = (0.2, 0.5, 0.8, 0.85)
INITS = ["native:shapeset", "native:mnist5k", "he_normal", "xavier_uniform", "lsuv", "default"]


def arch(n_out):
    return "mlp:" + ",".join(str(v) for v in [784, *HIDDEN, n_out])


def main():
    import torch

    torch.set_num_threads(1)
    from paramstat.init import fit_profile
    from paramstat.lab.archs import build_model
    from paramstat.lab.datasets import load_dataset
    from paramstat.lab.inits import init_model
    from paramstat.lab.probe import probe
    from paramstat.lab.shapeset import generate
    from paramstat.lab.train import train_run

    t0 = time.time()
    Xtr, ytr = load_dataset("mnist5k", "train", flatten=True)
    Xte, yte = load_dataset("mnist5k", "test", flatten=True)
    Str, sy = generate(10_000, seed=0, size=28)
    Ste, sye = generate(2_000, seed=1, size=28)
    Str, Ste = Str.reshape(-1, 784), Ste.reshape(-1, 784)
    src_dir = RESULTS / "native_mlp"
    src_dir.mkdir(parents=True, exist_ok=True)
    profiles, src_acc = {}, {}
    for data, (A, a, B, b, ncls, seed0) in {"shapeset": (Str, sy, Ste, sye, 9, 100),
                                            "mnist5k": (Xtr, ytr, Xte, yte, 10, 200)}.items():
        paths, accs = [], []
        for k in range(N_SRC):
            p = src_dir / f"mlp_{data}_e{SRC_EPOCHS}_s{seed0 + k}.pt"
            meta = p.with_suffix(".json")
            if not p.exists():
                m = build_model(arch(ncls), (784,), ncls, "relu", seed=seed0 + k)
                init_model(m, "he_normal", seed=seed0 + k)
                r = train_run(m, A, a, B, b, epochs=SRC_EPOCHS, optim="adam", lr=1e-3, seed=seed0 + k)
                torch.save(m.state_dict(), p)
                meta.write_text(json.dumps({"final_acc": r.final_acc, "data": data, "epochs": SRC_EPOCHS}))
            accs.append(json.loads(meta.read_text())["final_acc"])
            paths.append(str(p))
        prof_path = RESULTS / f"mlp_{data}_profile.json"
        prof_path.write_text(json.dumps(fit_profile(paths), indent=1, default=float))
        profiles[data], src_acc[data] = str(prof_path), accs
        print("sources", data, accs, f"{time.time() - t0:.0f}s", flush=True)
    runs = []
    for seed in SEEDS:
        for init in INITS:
            m = build_model(arch(10), (784,), 10, "relu", seed=seed)
            scheme, _, src = init.partition(":")
            init_model(m, scheme, seed=seed, data=torch.as_tensor(Xtr[:256]), profile=profiles.get(src))
            pr = probe(m, torch.as_tensor(Xtr[:256]), torch.as_tensor(ytr[:256]))
            r = train_run(m, Xtr, ytr, Xte, yte, epochs=EPOCHS, lr=LR, optim="sgd", eval_every=EVAL, seed=seed,
                          init=init)
            runs.append({"init": init, "seed": seed, "final_acc": r.final_acc, "curve": r.curve,
                         "md_over_m0": pr.layers[-2].M / pr.M0, "grad_var_first": pr.layers[0].wgrad_var,
                         **{f"steps_to_{int(100 * t)}": steps_to(r.curve, t) for t in TARGETS}})
        print("seed", seed, f"{time.time() - t0:.0f}s", flush=True)
    cfg = {"arch": arch(10), "src_epochs": SRC_EPOCHS, "n_src": N_SRC, "src_acc": src_acc, "epochs": EPOCHS,
           "lr": LR, "eval_every": EVAL, "seeds": SEEDS, "seconds": time.time() - t0, "machine": machine_line()}
    save_json("native_mlp", {"config": cfg, "runs": runs})
    report(cfg, runs)


def report(cfg, runs):
    fig = plot_mean_curves(runs, INITS, "SGD step (MNIST-5k, 63 steps per epoch)",
                           f"test accuracy (mean of {len(cfg['seeds'])} seeds)",
                           f"{cfg['arch']} on MNIST-5k from different inits")
    savefig(fig, "native_mlp.png")
    sa = cfg["src_acc"]
    lines = [f"Budget: `{cfg['arch']}` (ReLU). Profiles fitted on {cfg['n_src']} MLPs each, trained from He-normal "
             f"inits with Adam 1e-3 for {cfg['src_epochs']} epochs on Shapeset-3x2 at 28x28 (10,000 images; test "
             "accuracy " + ", ".join(f"{a:.2f}" for a in sa["shapeset"]) + ") and on MNIST-5k (control; "
             + ", ".join(f"{a:.2f}" for a in sa["mnist5k"]) + "). Target: MNIST-5k, SGD momentum 0.9 lr "
             f"{cfg['lr']}, batch 64, {cfg['epochs']} epochs, test accuracy every {cfg['eval_every']} steps, seeds "
             f"{cfg['seeds']}. Wall time {cfg['seconds'] / 60:.1f} min on {cfg['machine']}. "
             "Script: `python scripts/repro/repro_native_mlp.py`.", "", "![native MLP](img/native_mlp.png)", "",
             "| init | " + " | ".join(f"median steps to {int(100 * t)}% (reached)" for t in TARGETS)
             + " | final accuracy | M_d/M_0 at init (median) |", "|---|" + "---|" * (len(TARGETS) + 2)]
    for init in INITS:
        rs = [r for r in runs if r["init"] == init]
        cells = []
        for t in TARGETS:
            v = [r[f"steps_to_{int(100 * t)}"] for r in rs if r[f"steps_to_{int(100 * t)}"] is not None]
            cells.append(f"{fmt(float(np.median(v)) if v else None, '.0f')} ({len(v)}/{len(rs)})")
        fa = [r["final_acc"] for r in rs]
        md = float(np.median([r["md_over_m0"] for r in rs]))
        lines.append(f"| {init} | " + " | ".join(cells) + f" | {np.mean(fa):.3f} ± {np.std(fa):.3f} | {md:.3g} |")
    from scipy.stats import wilcoxon

    def per_seed(init, key):
        rs = sorted((r for r in runs if r["init"] == init), key=lambda r: r["seed"])
        return np.array([np.nan if r[key] is None else r[key] for r in rs], dtype=float)

    lines += ["", "Paired by seed (same data order) against He normal, steps to 80%: mean difference, "
              "wins / losses, Wilcoxon signed-rank p (scipy):", "",
              "| init | mean Δ steps | wins / losses | p |", "|---|---|---|---|"]
    he = per_seed("he_normal", "steps_to_80")
    for init in INITS:
        if init == "he_normal":
            continue
        x = per_seed(init, "steps_to_80")
        ok = np.isfinite(x) & np.isfinite(he)
        if ok.sum() < 3:
            lines.append(f"| {init} | — | — | — |")
            continue
        d = x[ok] - he[ok]
        p = wilcoxon(x[ok], he[ok]).pvalue if np.any(d != 0) else 1.0
        lines.append(f"| {init} | {d.mean():+.1f} | {(d < 0).sum()} / {(d > 0).sum()} | {p:.3g} |")
    update_section("native-mlp", "\n".join(lines))


if __name__ == "__main__":
    main_or_report(main, report, "native_mlp", "runs")
