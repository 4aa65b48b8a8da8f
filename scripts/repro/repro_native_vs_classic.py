"""Issue 13's experiment: does a native init (trained shape at a propagating scale) start training faster than
He, Xavier, orthogonal, LSUV or a Trockman-style covariance init?

1. Sources: every lab architecture (mlp:2x128, cnn, resnet, vit) trained from its own init with Adam 1e-3 on
   digits and on MNIST-5k, SOURCE_SEEDS each (zoo/lab/native_src/ARCH_DATA_SEED.safetensors).
2. Profiles (paramstat.init.fit_profile): 'otherdata' = the same architecture trained on the other data set
   (digits <-> mnist5k; Shapeset targets use the MNIST-5k sources); 'otherarch' = the three other
   architectures trained on the target data set (MNIST-5k for Shapeset). 'trockman' = the otherdata profile
   with every family set to the normal (gennorm beta 2): Gaussian filters with the trained k x k covariance
   at the native scale (Trockman et al. 2023); for MLP and ViT (no k x k kernels) that is an i.i.d. normal init.
3. Targets: SETTINGS below, INITS x SEEDS, SGD momentum 0.9, lr 0.01, batch 64, test accuracy every 5 steps;
   one architecture no profile was fitted on (resnet:2x24, deeper and wider; profile: otherarch from all four).

Results: zoo/lab/native_vs_classic.json (written after every setting), docs/LAB.md section native-vs-classic,
docs/img/native_vs_classic_curves.png. Usage: python scripts/repro/repro_native_vs_classic.py [--report-only]
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
from repro_common import RESULTS, load_json, machine_line, pyplot, save_json, savefig, update_section

ARCHS = {"mlp": "mlp:2x128", "cnn": "cnn", "resnet": "resnet", "vit": "vit"}
SOURCE_SEEDS = (100, 101)
SOURCE_EPOCHS = {"digits": 8, "mnist5k": 2}
SETTINGS = [("mlp", "digits"), ("cnn", "digits"), ("resnet", "digits"), ("vit", "digits"),
            ("resnet:2x24", "digits"), ("mlp", "mnist5k"), ("cnn", "mnist5k"), ("mlp", "shapeset"),
            ("cnn", "shapeset"), ("resnet", "mnist5k"), ("vit", "mnist5k")]
EPOCHS = {"digits": 4, "mnist5k": 1, "shapeset": 2}
N_TRAIN = {"digits": None, "mnist5k": None, "shapeset": 3000}
N_TEST = {"digits": None, "mnist5k": None, "shapeset": 1000}
INITS = ["native:otherdata", "native:otherarch", "he_normal", "xavier_uniform", "orthogonal", "lsuv", "trockman"]
SEEDS = (0, 1, 2, 3, 4)
EVAL_EVERY = 5
SRC = RESULTS / "native_src"
NAME = "native_vs_classic"


def _commit():
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=RESULTS.parent.parent).stdout.strip()
    except OSError:
        return "?"


COMMIT = _commit()


def data(name, split, flatten, n=None):
    from paramstat.lab.datasets import load_dataset

    X, y = load_dataset(name, split, n=n, seed=0, flatten=flatten)
    return X, y


def train_sources():
    from safetensors.torch import save_file

    from paramstat.lab.archs import build_model
    from paramstat.lab.datasets import N_CLASSES
    from paramstat.lab.train import train_run

    SRC.mkdir(parents=True, exist_ok=True)
    info = {}
    for arch, spec in ARCHS.items():
        for ds in ("digits", "mnist5k"):
            for s in SOURCE_SEEDS:
                p = SRC / f"{arch}_{ds}_{s}.safetensors"
                flat = arch == "mlp"
                Xtr, ytr = data(ds, "train", flat)
                Xte, yte = data(ds, "test", flat)
                if not p.exists():
                    m = build_model(spec, tuple(Xtr.shape[1:]), N_CLASSES[ds], seed=s)
                    r = train_run(m, Xtr, ytr, Xte, yte, epochs=SOURCE_EPOCHS[ds], optim="adam", lr=1e-3,
                                  seed=s, eval_every=10_000)
                    save_file({k: v.detach().contiguous() for k, v in m.state_dict().items()}, str(p))
                    info[p.name] = r.final_acc
                    print("source", p.name, round(r.final_acc, 3), flush=True)
    return info


def fit(files):
    from paramstat.init import fit_profile

    return fit_profile([str(f) for f in files])


def profiles_for(arch, ds):
    """(otherdata, otherarch) profiles for a target (arch, data set); arch 'resnet:2x24' = unseen."""
    src_ds = {"digits": "mnist5k", "mnist5k": "digits", "shapeset": "mnist5k"}[ds]
    arch_ds = ds if ds != "shapeset" else "mnist5k"
    base = arch.split(":")[0] if arch in ARCHS else None
    od = fit([SRC / f"{base}_{src_ds}_{s}.safetensors" for s in SOURCE_SEEDS]) if base else None
    oa = fit([SRC / f"{a}_{arch_ds}_{s}.safetensors" for a in ARCHS if a != base for s in SOURCE_SEEDS])
    return od, oa


def normal_families(prof):
    p = copy.deepcopy(prof)
    for entry in p["roles"].values():
        entry["family"] = "gennorm"
        law = entry["shape_law"]
        law["intercept"], law["coef"] = float(np.log(2.0)), {}
    return p


def run_setting(arch, ds):
    import torch

    from paramstat.lab.archs import build_model
    from paramstat.lab.datasets import N_CLASSES
    from paramstat.lab.inits import init_model
    from paramstat.lab.train import train_run

    spec = ARCHS.get(arch, arch)
    flat = spec.startswith("mlp")
    Xtr, ytr = data(ds, "train", flat, N_TRAIN[ds])
    Xte, yte = data(ds, "test", flat, N_TEST[ds])
    od, oa = profiles_for(arch, ds)
    profs = {"native:otherdata": od, "native:otherarch": oa, "trockman": normal_families(od or oa)}
    runs = []
    for s in SEEDS:
        for init in INITS:
            if init == "native:otherdata" and od is None:
                continue
            m = build_model(spec, tuple(Xtr.shape[1:]), N_CLASSES[ds], seed=s)
            scheme = "native" if init in profs else init
            init_model(m, scheme, seed=s, data=torch.as_tensor(Xtr[:256]), profile=profs.get(init))
            r = train_run(m, Xtr, ytr, Xte, yte, epochs=EPOCHS[ds], lr=0.01, seed=s, eval_every=EVAL_EVERY,
                          init=init)
            runs.append({"init": init, "seed": s, "curve": r.curve, "final_acc": r.final_acc,
                         "diverged": r.diverged, "steps": r.steps})
        print(arch, ds, "seed", s, "done", flush=True)
    return {"arch": arch, "spec": spec, "data": ds, "n_train": int(Xtr.shape[0]), "n_test": int(Xte.shape[0]),
            "epochs": EPOCHS[ds], "runs": runs,
            "profile_tensors": {k: sum(e.get("n_tensors", 0) for e in v["roles"].values())
                                for k, v in profs.items() if v is not None}}


def steps_to(curve, target):
    for st, a in curve:
        if a >= target:
            return st
    return None


def analyse(res):
    from scipy import stats

    rows = []
    for st in res["settings"]:
        runs = st["runs"]
        he_final = np.median([r["final_acc"] for r in runs if r["init"] == "he_normal"])
        target = round(0.8 * he_final, 3)
        st["target"] = target
        by = {}
        for r in runs:
            t = steps_to(r["curve"], target)
            by.setdefault(r["init"], {})[r["seed"]] = (t, r["final_acc"], r["curve"][1][1] if len(r["curve"]) > 1
                                                        else r["curve"][0][1], r["steps"])
        he = by["he_normal"]
        for init, d in by.items():
            seeds = sorted(d)
            t = [d[s][0] for s in seeds]
            cens = [x if x is not None else d[s][3] + EVAL_EVERY for x, s in zip(t, seeds)]
            fin = np.array([d[s][1] for s in seeds])
            first = np.array([d[s][2] for s in seeds])
            row = {"arch": st["arch"], "data": st["data"], "init": init, "target": target,
                   "reached": sum(x is not None for x in t), "n": len(seeds),
                   "steps_mean": float(np.mean(cens)), "steps_sd": float(np.std(cens, ddof=1)),
                   "final_mean": float(fin.mean()), "final_sd": float(fin.std(ddof=1)),
                   "first_mean": float(first.mean())}
            if init != "he_normal":
                hs = [he[s][0] if he[s][0] is not None else he[s][3] + EVAL_EVERY for s in seeds]
                hf = np.array([he[s][1] for s in seeds])
                dstep = np.array(cens) - np.array(hs)
                row["d_steps"] = float(dstep.mean())
                row["d_final"] = float((fin - hf).mean())
                row["p_steps"] = float(stats.wilcoxon(cens, hs).pvalue) if np.any(dstep != 0) else 1.0
                row["p_final"] = float(stats.ttest_rel(fin, hf).pvalue) if np.any(fin != hf) else 1.0
            rows.append(row)
    return rows


def report(res):
    rows = analyse(res)
    cfg = res["config"]
    done = [f"{s['arch']}/{s['data']}" for s in res["settings"]]
    lines = [f"Budget: inits {', '.join(INITS)}; seeds {list(SEEDS)}; SGD momentum 0.9, lr 0.01, batch 64, test "
             f"accuracy every {EVAL_EVERY} steps; epochs {EPOCHS} (n_train {N_TRAIN}, None = the whole split). "
             f"Sources: {list(ARCHS.values())} trained with Adam 1e-3 from their own init, seeds {list(SOURCE_SEEDS)}, "
             f"epochs {SOURCE_EPOCHS} (final test accuracy per source file in zoo/lab/native_vs_classic.json). "
             f"Code: commit {cfg.get('commit', '?')}. Settings that ran: {', '.join(done)}. Not run (time): "
             f"{', '.join(x for x in cfg.get('planned', [f'{a}/{d}' for a, d in SETTINGS]) if x not in done) or 'none'}. "
             f"Wall time {cfg['seconds'] / 60:.1f} min on {cfg['machine']} (shared with other jobs, load "
             f"{cfg.get('load', '?')}). Target = 80% of He normal's median final accuracy in that setting. "
             "Script: `python scripts/repro/repro_native_vs_classic.py`.", "",
             f"![curves](img/{NAME}_curves.png)", "",
             "Steps to target: mean ± sd over seeds (a run that never reached it counts as its last step + 5), "
             "reached/runs; final accuracy mean ± sd (ddof 1); acc@5 = test accuracy after 5 steps; vs He: mean "
             "paired difference of steps (Wilcoxon signed-rank p) and of final accuracy (paired t-test p).", "",
             "| arch / data | target | init | reached | steps to target | final acc | acc@5 | Δ steps vs He (p) | Δ final vs He (p) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        vs = (f"{r['d_steps']:+.1f} ({r['p_steps']:.2g})", f"{r['d_final']:+.3f} ({r['p_final']:.2g})") \
            if "d_steps" in r else ("—", "—")
        lines.append(f"| {r['arch']} / {r['data']} | {r['target']:.2f} | {r['init']} | {r['reached']}/{r['n']} | "
                     f"{r['steps_mean']:.1f} ± {r['steps_sd']:.1f} | {r['final_mean']:.3f} ± {r['final_sd']:.3f} | "
                     f"{r['first_mean']:.3f} | {vs[0]} | {vs[1]} |")
    update_section(NAME.replace("_", "-"), "\n".join(lines))
    plot(res)
    return rows


def plot(res):
    plt = pyplot()

    sts = res["settings"]
    n = len(sts)
    cols = min(4, n)
    rws = (n + cols - 1) // cols
    fig, axes = plt.subplots(rws, cols, figsize=(4 * cols, 3 * rws), squeeze=False)
    for ax, st in zip(axes.ravel(), sts):
        for init in INITS:
            cs = [r["curve"] for r in st["runs"] if r["init"] == init]
            if not cs:
                continue
            L = min(len(c) for c in cs)
            x = [c[0] for c in cs[0][:L]]
            y = np.mean([[a for _, a in c[:L]] for c in cs], axis=0)
            ax.plot(x, y, label=init, lw=1.5 if init.startswith("native") or init == "he_normal" else 0.8)
        ax.axhline(st.get("target", 0), color="k", lw=0.5, ls=":")
        ax.set_title(f"{st['arch']} / {st['data']}", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0][0].set_ylabel("test accuracy (mean of seeds)")
    axes[0][0].legend(fontsize=6)
    savefig(fig, f"{NAME}_curves.png")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--settings", default=None, help="ARCH/DATA,... (default: all SETTINGS, in order)")
    ap.add_argument("--name", default="native_vs_classic", help="results name (zoo/lab/NAME.json, doc section)")
    a = ap.parse_args()
    global NAME
    NAME = a.name
    if a.report_only:
        report(load_json(NAME))
        return
    settings = SETTINGS if a.settings is None else [tuple(x.split("/")) for x in a.settings.split(",")]
    import os

    import torch

    torch.set_num_threads(1)
    t0 = time.time()
    res = {"config": {"machine": machine_line(), "seconds": 0.0}, "settings": []}
    res["sources"] = train_sources()
    res["config"]["planned"] = [f"{x}/{d}" for x, d in settings]
    for arch, ds in settings:
        res["settings"].append(run_setting(arch, ds))
        res["config"]["seconds"] = time.time() - t0
        res["config"]["load"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
        res["config"]["commit"] = COMMIT
        save_json(NAME, res)
        report(res)


if __name__ == "__main__":
    main()
