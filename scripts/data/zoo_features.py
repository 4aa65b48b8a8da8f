"""Features of every zoo tensor -> datasets/zoo/features.csv.gz (one row per tensor, with its label).

Each checkpoint is read the way a user's file is (``paramstat.sources.load`` on the safetensors file: roles
from names and shapes, no architecture), then ``paramstat.verdict.features.tensor_features`` per tensor: every
small tensor, and at most MAX_MATRICES weight matrices per checkpoint (evenly spaced in file order).
Per-checkpoint results are cached in zoo/features_cache/<code hash>/ (the hash of features.py + stats/).

Usage: python scripts/data/zoo_features.py [--only GLOB] [--out PATH]
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "zoo"
MANIFEST = ROOT / "datasets" / "zoo" / "manifest.json"
OUT = ROOT / "datasets" / "zoo" / "features.csv.gz"
META = ("id", "family", "arch", "kind", "init", "source")
CACHE = ZOO / "features_cache"
MAX_MATRICES = 24


def code_version() -> str:
    """Hash of the code that computes features (features.py and the stats package): the cache key."""
    import hashlib

    h = hashlib.sha256()
    pkg = ROOT / "paramstat"
    for p in [pkg / "features.py", *sorted((pkg / "stats").glob("*.py"))]:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def rows_for(entry: dict, path: Path) -> list[dict]:
    from paramstat.sources import load
    from paramstat.verdict.features import role_group, tensor_features

    ck = load(str(path))
    mats = [r.stored_name for r in ck if role_group(r) == "matrix"]
    if len(mats) > MAX_MATRICES:  # evenly spaced subset: big fresh nets need not dominate the compute
        keep = {mats[int(j)] for j in np.linspace(0, len(mats) - 1, MAX_MATRICES).round()}
    else:
        keep = set(mats)
    rows = []
    for r in ck:
        if not r.analysable or (role_group(r) == "matrix" and r.stored_name not in keep):
            continue
        f = tensor_features(r, r.read())
        label = entry.get("labels", {}).get(r.stored_name, entry.get("default_label", "untrained"))
        row = {k: entry.get(k) for k in META}
        row.update(name=r.stored_name, role=r.role, group=f.group, dtype=r.dtype, numel=r.numel, label=label,
                   constant=("constant" in f.notes), const_value=f.notes.get("constant"),
                   edge_smear=("edge_smear" in f.notes),
                   sig_best=(f.stats.get("signature") or {}).get("best"))
        row.update({f"f_{k}": v for k, v in f.values.items()})
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="glob over zoo ids")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    entries = json.loads(MANIFEST.read_text())["entries"]
    rows: list[dict] = []
    t0 = time.time()
    cache = CACHE / code_version()
    cache.mkdir(parents=True, exist_ok=True)
    for i, e in entries.items():
        if args.only and not fnmatch.fnmatch(i, args.only):
            continue
        p = ZOO / e["file"]
        if not p.exists():
            print(f"missing {p} (run scripts/data/build_zoo.py)", file=sys.stderr)
            continue
        t = time.time()
        cp = cache / f"{i}.json"
        if cp.exists() and cp.stat().st_mtime >= p.stat().st_mtime:
            rows += json.loads(cp.read_text())
            continue
        new = rows_for(e, p)
        cp.write_text(json.dumps(new))
        rows += new
        print(f"{i}: {len(new)} tensors, {time.time() - t:.1f}s", flush=True)
    df = pd.DataFrame(rows)
    tmp = Path(args.out + ".tmp")
    df.to_csv(tmp, index=False, float_format="%.6g", compression="gzip")
    tmp.replace(args.out)
    print(f"{len(df)} tensors from {df['id'].nunique() if len(df) else 0} checkpoints -> {args.out} "
          f"in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
