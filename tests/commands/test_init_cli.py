"""paramstat fit / generate end to end (in-process): files, determinism, strict loading, --check, errors."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from paramstat.cli import main


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    """A small 'trained-looking' MLP state dict: Laplace-ish weights with std 0.8/sqrt(fan_in), biases."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    sd = {}
    widths = [64, 96, 80, 48, 112, 40, 72, 56, 10]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        sd[f"net.{i}.weight"] = (rng.laplace(0, 0.8 / np.sqrt(2 * a), size=(b, a))).astype(np.float32)
        sd[f"net.{i}.bias"] = rng.normal(0.01, 0.05, size=b).astype(np.float32)
    p = tmp_path_factory.mktemp("fit") / "mlp.safetensors"
    save_file(sd, str(p))
    return p


@pytest.fixture(scope="module")
def profile_file(trained_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("prof") / "p.json"
    assert main(["fit", str(trained_file), "-o", str(out)]) == 0
    return out


def test_fit_writes_profile_and_refuses_overwrite(profile_file, trained_file, capsys):
    p = json.loads(profile_file.read_text())
    lin = p["roles"]["linear"]
    assert lin["n_tensors"] == 8 and lin["family"] == "gennorm"
    assert lin["scale_law"]["coef"]["log_fan_in"] == pytest.approx(-0.5, abs=0.08)
    beta = np.exp(lin["shape_law"]["intercept"] + sum(c * np.mean(lin["scale_law"]["range"][f])
                                                      for f, c in lin["shape_law"]["coef"].items()))
    assert beta == pytest.approx(1.0, abs=0.2)                     # Laplace
    assert p["provenance"]["sources"][0]["sha256"] == hashlib.sha256(trained_file.read_bytes()).hexdigest()
    assert main(["fit", str(trained_file), "-o", str(profile_file)]) == 2   # exists, no --force
    assert "exists" in capsys.readouterr().err


def test_generate_deterministic_strict_and_checked(profile_file, tmp_path, capsys):
    from safetensors.torch import load_file

    from paramstat.init.generate import build_model

    a, b, c = tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "c.safetensors"
    common = ["--profile", str(profile_file), "--scale", "profile"]
    assert main(["generate", "mlp:64,128,10", *common, "--seed", "3", "-o", str(a)]) == 0
    assert main(["generate", "mlp:64,128,10", *common, "--seed", "3", "-o", str(b)]) == 0
    assert main(["generate", "mlp:64,128,10", *common, "--seed", "4", "-o", str(c)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    sd = load_file(str(a))
    m = build_model("mlp:64,128,10")
    m.load_state_dict(sd, strict=True)
    assert torch.isfinite(m(torch.randn(4, 64))).all()
    assert sd["0.weight"].double().std().item() == pytest.approx(0.8 / 8, rel=0.15)   # law: 0.8/sqrt(64)
    capsys.readouterr()
    rc = main(["generate", "mlp:64,128,10", "--profile", str(profile_file), "--check", "--json", "-"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["check"]["passed"] and out["check"]["n_failed"] == 0
    assert out["forward_finite"] is True
    assert out["check"]["scan"]["available"] in (True, False)


def test_generate_errors(profile_file, tmp_path, capsys):
    assert main(["generate", "mlp:64", "--profile", str(profile_file), "-o", str(tmp_path / "x.st")]) == 2
    assert main(["generate", "no_such_net_xyz", "--profile", str(profile_file), "-o", str(tmp_path / "x.st")]) == 2
    assert main(["generate", "mlp:4,3", "--profile", str(tmp_path / "none.json"), "-o", str(tmp_path / "x.st")]) == 2
    assert main(["generate", "mlp:4,3", "--scheme", "lsuv", "-o", str(tmp_path / "x.st")]) == 2
    err = capsys.readouterr().err
    assert "bad MLP spec" in err and "unknown model" in err and "profile not found" in err


def test_generate_classic_scheme(tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "x.safetensors"
    assert main(["generate", "mlp:400,300", "--scheme", "he_normal", "--seed", "1", "-o", str(out)]) == 0
    w = load_file(str(out))["0.weight"].double()
    assert w.var().item() == pytest.approx(2 / 400, rel=0.03)


def test_generate_lsuv_from_the_cli(tmp_path, capsys):
    """generate --scheme lsuv --data: saved, strict-loadable, every layer's output variance on the batch
    within LSUV's tol of 1 (re-measured here by an independent forward on the same images)."""
    from safetensors.torch import load_file

    from paramstat.init.generate import build_model
    from paramstat.lab.datasets import load_dataset

    out = tmp_path / "l.safetensors"
    rc = main(["generate", "mlp:64,48,32,10", "--scheme", "lsuv", "--data", "digits", "--batch", "64",
               "-o", str(out), "--json", "-"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["scheme"] == "lsuv" and d["data"] == "digits"
    assert [r["status"] for r in d["lsuv"]["layers"]] == ["ok", "ok", "ok"]
    m = build_model("mlp:64,48,32,10")
    m.load_state_dict(load_file(str(out)), strict=True)
    X = torch.from_numpy(load_dataset("digits", "train", n=64, seed=0, flatten=True)[0])
    with torch.no_grad():
        h = X
        for layer in m:
            h = layer(h)
            if isinstance(layer, torch.nn.Linear):
                assert abs(float(h.double().var()) - 1) <= 0.1 + 1e-6
    # the table prints per-layer variances
    assert main(["generate", "mlp:64,48,10", "--scheme", "lsuv", "--data", "digits", "-o", str(tmp_path / "t.st")]) == 0
    txt = capsys.readouterr().out
    assert "Var after" in txt and "ok" in txt
    # a .npy batch; wrong shapes and missing data are one-line errors
    np.save(tmp_path / "b.npy", np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32))
    assert main(["generate", "mlp:64,10", "--scheme", "lsuv", "--data", str(tmp_path / "b.npy"),
                 "-o", str(tmp_path / "n.st")]) == 0
    np.save(tmp_path / "w.npy", np.zeros((20, 7), np.float32))
    assert main(["generate", "mlp:64,10", "--scheme", "lsuv", "--data", str(tmp_path / "w.npy"),
                 "-o", str(tmp_path / "w.st")]) == 2
    assert main(["generate", "mlp:64,10", "--scheme", "lsuv", "-o", str(tmp_path / "w.st")]) == 2
    assert main(["generate", "mlp:64,10", "--scheme", "lsuv", "--data", "digits", "--batch", "8",
                 "-o", str(tmp_path / "w.st")]) == 2          # LSUV refuses < 16
    err = capsys.readouterr().err
    assert "7 features" in err and "needs a data batch" in err and ">= 16" in err


def test_forward_check_passes_he_and_fails_a_100x_init():
    """The forward part of --check: He on an MLP passes (output within 10x of the input / own init, M_j/M_0
    near 1 by FM1 theory); the same weights x100 give M_j/M_0 ~ 1e4^j and an output 1e8x: both fail."""
    from paramstat.init import apply_init
    from paramstat.init.generate import build_model
    from paramstat.lab.check import forward_check

    spec = "mlp:64,64,64,10"
    m = build_model(spec)
    apply_init(m, "he_normal", seed=0)
    ok = forward_check(m, spec)
    assert ok["passed"] and ok["std_ok"] and ok["M_ok"]
    assert all(0.2 < lay["M_over_M0"] < 5 for lay in ok["M_layers"])       # E M_j / M_0 = 1 for He
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(100.0)
    bad = forward_check(m, spec)
    assert not bad["passed"] and not bad["std_ok"] and not bad["M_ok"]
    assert bad["M_layers"][-1]["M_over_M0"] > 1e7


def test_cli_check_fails_on_exploding_and_passes_default(profile_file, capsys):
    # he_2x on a deep MLP: M_j doubles per layer (FM1) -> 2^30 at the end: the check must fail (exit 1)
    spec = "mlp:" + ",".join(["32"] * 31 + ["10"])
    rc = main(["generate", spec, "--scheme", "he_2x", "--check", "--json", "-"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 1 and not d["check"]["forward"]["passed"] and d["check"]["forward"]["M_failed"]
    rc = main(["generate", spec, "--scheme", "he_normal", "--check", "--json", "-"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["check"]["forward"]["passed"]
