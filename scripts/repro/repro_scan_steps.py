"""When does `paramstat scan` start calling He-initialized weights trained? Score vs training step.

`cnn` (3x3 convs 16,32,32, ReLU, GAP, Linear) on MNIST-5k from He-normal inits, SGD momentum 0.9 lr 0.01
and Adam lr 1e-3, batch 64, seeds 0-1; at steps SCAN_STEPS the live model goes through
`paramstat.verdict.scan`: checkpoint verdict and score, share of weight tensors called trained, and the
relative distance ||W - W_0|| / ||W_0|| of the weights, beside the test accuracy.

Usage: python scripts/repro/repro_scan_steps.py
"""
from __future__ import annotations

import time

import numpy as np
from repro_common import fmt, machine_line, main_or_report, pyplot, save_json, savefig, update_section

SCAN_STEPS = [0, 3, 10, 30, 50, 70, 100, 150, 200, 300, 630]
SEEDS = [0, 1]
OPTIMS = [("sgd", 0.01), ("adam", 1e-3)]
EPOCHS = 10


def main():
    import torch

    torch.set_num_threads(1)
    from paramstat.lab.archs import build_model
    from paramstat.lab.datasets import load_dataset
    from paramstat.lab.inits import init_model
    from paramstat.lab.train import train_run
    from paramstat.verdict import scan

    t0 = time.time()
    Xtr, ytr = load_dataset("mnist5k", "train")
    Xte, yte = load_dataset("mnist5k", "test")
    rows = []
    for optim, lr in OPTIMS:
        for seed in SEEDS:
            m = build_model("cnn", Xtr.shape[1:], 10, "relu", seed=seed)
            init_model(m, "he_normal", seed=seed)
            w0 = {k: v.detach().clone() for k, v in m.state_dict().items() if k.endswith("weight")}
            pts = []

            def cb(step, model, pts=pts, w0=w0):
                if step not in SCAN_STEPS:
                    return
                r = scan(model, progress=False)
                ws = [t for t in r.tensors if t.name.endswith("weight")]
                sd = model.state_dict()
                drift = float(np.mean([float((sd[k] - w0[k]).norm() / w0[k].norm()) for k in w0]))
                pts.append({"step": step, "verdict": r.verdict, "score": r.score,
                            "weights_trained": sum(t.verdict == "trained" for t in ws), "n_weights": len(ws),
                            "mean_weight_score": float(np.mean([t.score for t in ws if t.score is not None])),
                            "drift": drift})

            res = train_run(m, Xtr, ytr, Xte, yte, epochs=EPOCHS, optim=optim, lr=lr, seed=seed, callback=cb,
                            eval_steps=SCAN_STEPS, init="he_normal")
            acc = dict(res.curve)
            for p in pts:
                p.update(acc=acc.get(p["step"]), optim=optim, lr=lr, seed=seed)
            rows += pts
            print(optim, seed, [(p["step"], round(p["score"], 3), p["weights_trained"]) for p in pts],
                  f"{time.time() - t0:.0f}s", flush=True)
    cfg = {"arch": "cnn", "data": "mnist5k", "seeds": SEEDS, "optims": OPTIMS, "scan_steps": SCAN_STEPS,
           "steps_per_epoch": 63, "seconds": time.time() - t0, "machine": machine_line()}
    save_json("scan_steps", {"config": cfg, "rows": rows})
    report(cfg, rows)


def report(cfg, rows):
    plt = pyplot()

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    for optim, _lr in cfg["optims"]:
        for seed in cfg["seeds"]:
            rr = [r for r in rows if r["optim"] == optim and r["seed"] == seed]
            x = [max(r["step"], 0.5) for r in rr]
            ax[0].plot(x, [r["score"] for r in rr], "o-", ms=3, label=f"{optim} seed {seed}")
            rd = [r for r in rr if r["drift"] > 0]
            ax[1].plot([r["drift"] for r in rd], [r["score"] for r in rd], "o-", ms=3, label=f"{optim} seed {seed}")
    for a in ax:
        a.set_xscale("log")
    ax[0].set_xlabel("training step (0 plotted at 0.5)")
    ax[0].set_ylabel("scan checkpoint score P(trained)")
    ax[1].set_xlabel("mean ||W - W0|| / ||W0|| of the weight tensors")
    ax[1].set_ylabel("scan checkpoint score P(trained)")
    ax[1].set_title("the flip follows the drift, not the step", fontsize=9)
    ax[0].legend(fontsize=8)
    savefig(fig, "scan_vs_step.png")
    lines = [f"Budget: `cnn` on MNIST-5k from He-normal inits, seeds {cfg['seeds']}, SGD momentum 0.9 lr 0.01 and "
             f"Adam lr 1e-3, batch 64 ({cfg['steps_per_epoch']} steps per epoch); scanned at steps "
             f"{cfg['scan_steps']}. Wall time {cfg['seconds'] / 60:.1f} min on {cfg['machine']}. "
             "Script: `python scripts/repro/repro_scan_steps.py`.", "",
             "![scan score vs step](img/scan_vs_step.png)", "",
             "Each cell: checkpoint score P(trained) / weight tensors called trained (of 4) / mean "
             "‖W−W0‖/‖W0‖ / test accuracy.", ""]
    runs = [(o, s) for o, _ in cfg["optims"] for s in cfg["seeds"]]
    lines.append("| step | " + " | ".join(f"{o} seed {s}" for o, s in runs) + " |")
    lines.append("|---|" + "---|" * len(runs))
    for step in cfg["scan_steps"]:
        cells = []
        for o, s in runs:
            r = next((x for x in rows if x["optim"] == o and x["seed"] == s and x["step"] == step), None)
            cells.append("—" if r is None else f"{r['score']:.2f} / {r['weights_trained']} / "
                         f"{r['drift']:.3f} / {fmt(r['acc'], '.2f')}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    update_section("scan-vs-step", "\n".join(lines))


if __name__ == "__main__":
    main_or_report(main, report, "scan_steps", "rows")
