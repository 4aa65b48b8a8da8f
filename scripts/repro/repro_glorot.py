"""Glorot & Bengio 2010, Table 1 ordering on Shapeset-3x2 at a CPU budget.

Five hidden layers (Glorot & Bengio: 1000 units; here WIDTH) with sigmoid / tanh / softsign, "standard"
init U(+-1/sqrt(fan_in)) (PyTorch's Linear default, scheme 'default'; its biases are U(+-1/sqrt(fan_in))
too, Glorot's were 0) vs the normalized init U(+-sqrt(6/(n_in+n_out))) ('xavier_uniform', biases 0).
SGD momentum 0.9, lr LR, batch 64, N_TRAIN generated training images (Glorot: an unbounded stream),
2,000 test images, EPOCHS epochs, seeds SEEDS. Also probes each net at init (saturation per layer).

Usage: python scripts/repro/repro_glorot.py [--batch16 | --long] [--report]
"""
from __future__ import annotations

import time

import numpy as np
from repro_common import fmt, load_json, machine_line, pyplot, save_json, savefig, update_section

WIDTH, DEPTH, LR, EPOCHS, N_TRAIN, SEEDS = 256, 5, 0.01, 10, 10_000, (0, 1, 2)
BATCH = 64
TAG = ""  # "--batch16" runs budget B: batch 16 (4x the updates at about the same compute)
CONFIGS = [("sigmoid", "default"), ("tanh", "default"), ("tanh", "xavier_uniform"), ("softsign", "default"),
           ("softsign", "xavier_uniform")]
PAPER = {("sigmoid", "default"): 82.61, ("tanh", "default"): 27.15, ("tanh", "xavier_uniform"): 15.60,
         ("softsign", "default"): 16.27, ("softsign", "xavier_uniform"): 16.06}


def label(act, init):
    return act + ("-N" if init == "xavier_uniform" else "")


def main():
    import torch

    torch.set_num_threads(1)
    from paramstat.lab.probe import probe_spec
    from paramstat.lab.train import start_train

    arch = "mlp:" + ",".join(["1024"] + [str(WIDTH)] * DEPTH + ["9"])
    t0 = time.time()
    state = load_json("glorot_partial" + TAG) or {"runs": {}}
    for act, init in CONFIGS:
        key = f"{act}/{init}"
        if key in state["runs"]:
            continue
        res = start_train(arch, act=act, data="shapeset", inits=[init], seeds=list(SEEDS), target=0.2,
                          epochs=EPOCHS, lr=LR, optim="sgd", batch_size=BATCH, n_train=N_TRAIN)
        pr = probe_spec(arch, init=init, act=act, data="shapeset", batch=256, seed=0)
        state["runs"][key] = {"act": act, "init": init, "summary": res.summary()[0],
                              "runs": [{"seed": r.seed, "final_acc": r.final_acc, "best_acc": r.best_acc,
                                        "steps_to_target": r.steps_to_target, "curve": r.curve} for r in res.runs],
                              "probe_sat": [lp.sat_frac for lp in pr.layers[:-1]],
                              "probe_grad_var": [lp.grad_var for lp in pr.layers]}
        save_json("glorot_partial" + TAG, state)
        print(key, res.summary()[0]["mean_final_acc"], f"{time.time() - t0:.0f}s", flush=True)
    cfg = {"arch": arch, "lr": LR, "epochs": EPOCHS, "n_train": N_TRAIN, "n_test": 2000, "seeds": list(SEEDS),
           "batch": BATCH, "optim": "sgd momentum 0.9", "machine": machine_line()}
    save_json("glorot" + TAG, {"config": cfg, **state})
    report(cfg, state)


def report(cfg, state):
    plt = pyplot()

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = []
    for act, init in CONFIGS:
        r = state["runs"][f"{act}/{init}"]
        errs = [100 * (1 - x["final_acc"]) for x in r["runs"]]
        rows.append((label(act, init), np.mean(errs), np.std(errs), PAPER[(act, init)], r))
        steps = np.array([s for s, _ in r["runs"][0]["curve"]])
        acc = np.mean([[a for _, a in x["curve"]] for x in r["runs"]], axis=0)
        ax[0].plot(steps, 100 * (1 - acc), label=label(act, init))
        gv = np.array(r["probe_grad_var"][:-1])
        ax[1].plot(range(1, len(gv) + 1), gv / gv[-1], "o-", label=label(act, init))
    ax[0].set_xlabel("SGD step")
    ax[0].set_ylabel("test error % (mean of seeds)")
    ax[0].set_title(f"Shapeset-3x2, {cfg['arch']}", fontsize=9)
    ax[0].legend(fontsize=8)
    ax[1].set_xlabel("hidden layer")
    ax[1].set_ylabel("Var(dL/d act_j) / Var at layer 5")
    ax[1].set_yscale("log")
    ax[1].set_title("back-propagated gradient variance at init (probe, 256 images)", fontsize=9)
    savefig(fig, f"glorot_shapeset{TAG}.png")
    lines = [f"Budget: `{cfg['arch']}` (Glorot & Bengio: 1000 units per layer), SGD momentum 0.9, lr {cfg['lr']} "
             f"for every configuration (the paper tuned it per configuration), batch {cfg['batch']}, "
             f"{cfg['n_train']:,} generated training images (the paper: an unbounded stream), {cfg['n_test']:,} test "
             f"images, {cfg['epochs']} epochs, seeds {cfg['seeds']}; {cfg['machine']}. "
             "'Standard' init = PyTorch's Linear default U(±1/sqrt(fan_in)) (biases too; the paper's were 0); "
             "-N = normalized init `xavier_uniform` with zero biases. Script: `python scripts/repro/repro_glorot.py`.", "",
             f"![Glorot & Bengio on Shapeset](img/glorot_shapeset{TAG}.png)", "",
             "| activation / init | test error % here (mean ± sd) | paper (Table 1, Shapeset) | "
             "Var(dL/da) layer 1 / layer 5 at init | saturated share at init, layers 1..5 |", "|---|---|---|---|---|"]
    for name, m, s, paper, r in rows:
        gv = r["probe_grad_var"]
        lines.append(f"| {name} | {m:.1f} ± {s:.1f} | {paper} | {gv[0] / gv[-2]:.2g} | "
                     + ", ".join(fmt(v, ".2f") for v in r["probe_sat"]) + " |")
    update_section("glorot" + TAG, "\n".join(lines))


if __name__ == "__main__":
    import sys

    if "--batch16" in sys.argv:
        BATCH, TAG = 16, "-batch16"
    if "--long" in sys.argv:  # budget C: batch 16, 40 epochs
        BATCH, TAG, EPOCHS = 16, "-long", 40
    if "--report" in sys.argv:  # redraw from zoo/lab/glorot<TAG>.json
        d = load_json("glorot" + TAG)
        report(d["config"], d)
    else:
        main()
