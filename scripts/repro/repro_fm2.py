"""FM2 (Hanin & Rolnick 2018): the spread of log M_d is set by beta = sum_j 1/n_j, not by depth or by the
order of the widths. He-normal ReLU MLPs with constant, increasing, decreasing and alternating width
patterns at beta in {0.25, 0.5, 1}; inputs N(0, I) of dimension n_0 = first hidden width; 30 weight seeds
x 256 inputs each. Reports sd of log(M_d / M_0) pooled over seeds and inputs, the within-network sd (over
inputs) and the between-network sd (of the per-network mean).

Usage: python scripts/repro/repro_fm2.py
"""
from __future__ import annotations

import time

import numpy as np
from repro_common import fmt, machine_line, pyplot, save_json, savefig, update_section

SEEDS = 30
BATCH = 256


def widths_for(pattern: str, depth: int, beta: float) -> list[int]:
    t = np.linspace(0, 1, depth)
    base = {"constant": np.ones(depth), "increasing": 1 + 2 * t, "decreasing": 3 - 2 * t,
            "alternating": np.where(np.arange(depth) % 2 == 0, 1.0, 3.0)}[pattern]
    c = np.sum(1 / base) / beta
    return [max(2, int(round(c * b))) for b in base]


def main():
    import torch

    torch.set_num_threads(1)
    from paramstat.lab.probe import probe_spec

    t0 = time.time()
    rows = []
    configs = []
    for beta in (0.25, 0.5, 1.0):
        for depth in (5, 10, 20):
            configs.append(("constant", depth, beta))
        for pat in ("increasing", "decreasing", "alternating"):
            configs.append((pat, 10, beta))
    for pat, depth, beta in configs:
        w = widths_for(pat, depth, beta)
        spec = "mlp:" + ",".join(str(v) for v in [w[0], *w, 10])
        means, sds, Ms = [], [], []
        for s in range(SEEDS):
            r = probe_spec(spec, init="he_normal", data="random", batch=BATCH, seed=s)
            lp = r.layers[-2]
            means.append(lp.log_ratio_mean)
            sds.append(lp.log_ratio_std)
            Ms.append(lp.M / r.M0)
        means, sds = np.array(means), np.array(sds)
        pooled = float(np.sqrt(np.mean(sds ** 2) + np.var(means)))
        rows.append({"pattern": pat, "depth": depth, "beta_target": beta, "beta": r.beta, "widths": w,
                     "sd_pooled": pooled, "sd_within": float(np.sqrt(np.mean(sds ** 2))),
                     "sd_between": float(np.std(means)), "mean_log": float(np.mean(means)),
                     "mean_M_ratio": float(np.mean(Ms))})
        print(pat, depth, beta, round(r.beta, 3), round(pooled, 3), flush=True)
    cfg = {"seeds": SEEDS, "batch": BATCH, "init": "he_normal", "act": "relu", "seconds": time.time() - t0,
           "machine": machine_line()}
    save_json("fm2", {"config": cfg, "rows": rows})

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    marks = {"constant": "o", "increasing": "^", "decreasing": "v", "alternating": "s"}
    for pat in marks:
        rr = [r for r in rows if r["pattern"] == pat]
        ax.scatter([r["beta"] for r in rr], [r["sd_pooled"] ** 2 for r in rr], marker=marks[pat], label=pat)
    b = np.array([r["beta"] for r in rows])
    v = np.array([r["sd_pooled"] ** 2 for r in rows])
    k = float(np.sum(b * v) / np.sum(b * b))
    xs = np.linspace(0, b.max() * 1.05, 50)
    ax.plot(xs, k * xs, "k--", lw=1, label=f"Var = {k:.2f} beta (fit through 0)")
    ax.set_xlabel("beta = sum 1/n_j")
    ax.set_ylabel("Var log(M_d / M_0) over seeds x inputs")
    ax.set_title("FM2: equal beta, equal spread (He normal, ReLU)", fontsize=10)
    ax.legend(fontsize=8)
    savefig(fig, "fm2_beta.png")

    lines = [f"Budget: He-normal ReLU MLPs, {SEEDS} weight seeds x {BATCH} N(0, I) inputs per configuration; "
             f"wall time {cfg['seconds']:.0f} s on {cfg['machine']}. Script: `python scripts/repro/repro_fm2.py`.", "",
             "![FM2: Var log M_d vs beta](img/fm2_beta.png)", "",
             "| pattern | depth | beta | widths | sd log M_d/M_0 (pooled) | within net | between nets | "
             "mean M_d/M_0 |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        w = r["widths"]
        ws = ",".join(map(str, w)) if len(w) <= 10 else f"{w[0]}..{w[-1]} ({len(w)} layers)"
        lines.append(f"| {r['pattern']} | {r['depth']} | {r['beta']:.3f} | {ws} | {fmt(r['sd_pooled'])} | "
                     f"{fmt(r['sd_within'])} | {fmt(r['sd_between'])} | {fmt(r['mean_M_ratio'])} |")
    lines += ["", f"Least-squares slope through the origin: Var log M_d ≈ {k:.2f} · beta."]
    update_section("fm2", "\n".join(lines))


if __name__ == "__main__":
    main()
