"""Fresh (untrained) models in formats and frameworks the verdict model never saw: every one must be `untrained`.

- Keras 3 applications built with `weights=None` (Keras's own initializers: glorot_uniform kernels, zero
  biases, VarianceScaling for EfficientNet, ...), saved as `.keras` and `.weights.h5`. Keras runs in a
  separate interpreter given by --keras-python (e.g. a venv with `pip install keras`; KERAS_BACKEND=torch, so
  no TensorFlow is needed); without it this part is skipped and says so.
- torchvision models with their own init (`weights=None`), saved as TorchScript (torch.jit.trace) and ONNX
  (torch.onnx.export, dynamo=False): read by paramstat without running code.

Writes the table into docs/VERDICTS.md between <!-- verdicts:foreign_fresh --> markers.
Usage: python scripts/repro/foreign_fresh_check.py [--keras-python PATH] [--work DIR] [--no-doc]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "VERDICTS.md"
KERAS_APPS = ("MobileNetV2", "ResNet50", "EfficientNetB0", "DenseNet121", "ConvNeXtTiny", "VGG16")
TV_MODELS = ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny")

KERAS_CHILD = """
import sys, keras
from keras import applications as A
keras.utils.set_random_seed(0)
out = sys.argv[1]
for name in sys.argv[2:]:
    m = getattr(A, name)(weights=None, input_shape=(224, 224, 3), classes=1000)
    m.save(f"{out}/{name}.keras")
    m.save_weights(f"{out}/{name}.weights.h5")
    print(name, m.count_params(), flush=True)
"""


def keras_files(python: str, work: Path) -> tuple[list[tuple[str, Path]], str]:
    env = dict(os.environ, KERAS_BACKEND="torch")
    cp = subprocess.run([python, "-c", KERAS_CHILD, str(work), *KERAS_APPS], capture_output=True, text=True, env=env)
    if cp.returncode != 0:
        return [], "keras failed: " + (cp.stderr.strip().splitlines() or ["?"])[-1][:200]
    ver = subprocess.run([python, "-c", "import keras; print(keras.__version__)"], capture_output=True, text=True,
                         env=env).stdout.strip()
    files = []
    for name in KERAS_APPS:
        files += [(f"Keras {ver} {name}", work / f"{name}.keras"), (f"Keras {ver} {name}", work / f"{name}.weights.h5")]
    return files, f"keras {ver}"


def torch_files(work: Path) -> list[tuple[str, Path]]:
    import warnings

    import torch
    import torchvision

    files = []
    for name in TV_MODELS:
        torch.manual_seed(0)
        m = getattr(torchvision.models, name)(weights=None).eval()
        x = torch.zeros(1, 3, 224, 224)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.jit.trace(m, x).save(str(work / f"{name}.jit"))
            torch.onnx.export(m, (x,), str(work / f"{name}.onnx"), dynamo=False)
        label = f"torchvision {torchvision.__version__} {name}"
        files += [(label, work / f"{name}.jit"), (label, work / f"{name}.onnx")]
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keras-python", help="an interpreter with keras 3 installed (run with KERAS_BACKEND=torch)")
    ap.add_argument("--work", help="folder for the generated files (default: a temp folder, deleted)")
    ap.add_argument("--no-doc", action="store_true")
    a = ap.parse_args(argv)
    import paramstat

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paramstat-foreign-") as tmp:
        work = Path(a.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        note = "keras part skipped (no --keras-python)"
        files = []
        if a.keras_python:
            kf, note = keras_files(a.keras_python, work)
            files += kf
        files += torch_files(work)
        rows = []
        for label, path in files:
            t = time.perf_counter()
            r = paramstat.scan(str(path), progress=False)
            c = r.counts()
            rows.append((label, path.name, r.format, r.n_params, r.verdict, r.score, c.get("trained", 0),
                         c.get("untrained", 0), c.get("undetermined", 0), time.perf_counter() - t))
            print(f"{label:45s} {path.name:28s} {r.verdict:10s} P={r.score:.3f} trained tensors {rows[-1][6]}",
                  flush=True)
    ok = sum(r[4] == "untrained" for r in rows)
    false_tr = sum(r[6] for r in rows)
    md = ["## Fresh models in other frameworks and formats (never used in fitting)", "",
          f"`python scripts/repro/foreign_fresh_check.py{' --keras-python PATH' if a.keras_python else ''}` ({note}; "
          f"{time.perf_counter() - t0:.0f} s): untrained architectures with their own framework's initializers, "
          "saved in formats paramstat reads without running code. Truth: `untrained` for every file.", "",
          "| model | file | format | params | verdict | P(trained) | trained | untrained | undet. | scan s |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r[0]} | `{r[1]}` | {r[2]} | {r[3]:,} | **{r[4]}** | {r[5]:.3f} | {r[6]} | {r[7]} | {r[8]} | {r[9]:.1f} |"
           for r in rows]
    md += ["", f"{ok} of {len(rows)} files `untrained`; tensors wrongly called trained: {false_tr}."]
    print(md[-1])
    if not a.no_doc:
        sys.path.insert(0, str(ROOT / "scripts" / "bench"))
        from _benchdoc import replace_section

        replace_section(DOC, "verdicts", "foreign_fresh", "\n".join(md), "# Verdicts\n")
        print(f"wrote {DOC}")
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
