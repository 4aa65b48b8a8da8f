"""Bounded-memory whole-tensor statistics reproduce numpy on the full float64 copy bit for bit, and the
features' faster paths (bf16 pass, cropped spectrum of a transposed matrix) give the same numbers."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramstat.dtypes import as_float
from paramstat.stats.floatpass import bf16_values
from paramstat.stats.runs import value_runs
from paramstat.stats.sampling import crop
from paramstat.stats.spectral import spectral
from paramstat.stats.streaming import count_runs_above, mean_std, tree_sum


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 400_000), leaf=st.sampled_from([129, 1000, 8192, 65_536]), seed=st.integers(0, 99),
       loc=st.floats(-5, 5), scale=st.floats(1e-4, 1e3))
def test_mean_std_equal_numpy_float64(n, leaf, seed, loc, scale):
    x = (np.random.default_rng(seed).standard_normal(n) * scale + loc).astype(np.float32)
    x64 = x.astype(np.float64)
    assert mean_std(x, leaf) == (float(x64.mean()), float(x64.std()))


def test_tree_sum_differs_from_a_plain_chunk_sum():
    """The oracle is sensitive: summing the same chunks in order (not numpy's tree) differs in the last bits."""
    x = np.random.default_rng(0).standard_normal(1_000_003).astype(np.float32).astype(np.float64) * 1e3 + 0.1
    exact = tree_sum(x.size, lambda lo, hi: np.add.reduce(x[lo:hi]), 1000)
    assert exact == float(x.sum())
    naive = 0.0
    for lo in range(0, x.size, 1000):
        naive += float(np.add.reduce(x[lo:lo + 1000]))
    assert naive != float(x.sum())


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 22])
def test_runs_counts_equal_value_runs(chunk):
    x = np.random.default_rng(3).standard_normal(50_001).astype(np.float32)
    x[1000:1100] = 0.5  # a long run across chunk borders
    med = float(np.median(x))
    r = value_runs(x, med)
    assert count_runs_above(x, med, chunk) == (r.n, r.n1, r.runs)


def test_bf16_values_equal_as_float_and_count_nonfinite():
    bits = np.random.default_rng(4).integers(0, 1 << 16, 3_000_000, dtype=np.uint32).astype(np.uint16)
    x, bad = bf16_values(bits)
    ref = as_float(bits, "bfloat16")
    np.testing.assert_array_equal(x.view(np.uint32), ref.view(np.uint32))
    assert bad == ref.size - np.count_nonzero(np.isfinite(ref)) > 0


@pytest.mark.parametrize("shape", [(3000, 200), (1100, 300), (5000, 900), (300, 1100), (4000, 4000), (100, 50)])
def test_spectrum_of_tall_matrix_equals_cropping_the_transposed_copy(shape):
    from paramstat.verdict.features import SPECTRAL_MAX_DIM, spectrum

    w = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    m, n = shape
    old = crop(np.ascontiguousarray(w if m <= n else w.T), SPECTRAL_MAX_DIM, 4 * SPECTRAL_MAX_DIM, seed=0)
    a, b = spectral(old, seed=0), spectrum(w)
    np.testing.assert_array_equal(a.sv, b.sv)
    assert (a.shuffle_distance, a.top_eig, a.n_spikes) == (b.shuffle_distance, b.top_eig, b.n_spikes)


@pytest.fixture(scope="module")
def synth(load_script):
    """scripts/bench/_synth.py: the one writer of a safetensors header for synthetic bf16 files."""
    return load_script("scripts/bench/_synth.py")


def test_scan_of_safetensors_imports_no_torch_or_timm(tmp_path, synth):
    from safetensors.numpy import save_file

    p = tmp_path / "m.safetensors"
    rng = np.random.default_rng(6)
    bf16 = (rng.standard_normal((48, 64)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    save_file({"fc.weight": rng.standard_normal((64, 32)).astype(np.float32),
               "fc.bias": rng.standard_normal(64).astype(np.float32)}, str(p))
    # a bf16 tensor too (the widened read)
    p2 = tmp_path / "b.safetensors"
    p2.write_bytes(synth.safetensors_prefix([("proj.weight", bf16.shape)]) + bf16.tobytes())
    code = ("import sys; from paramstat.cli import main; main(['scan', sys.argv[1], '--no-progress', "
            "'--json', sys.argv[2]]); bad = [m for m in ('torch', 'timm', 'torchvision') if m in sys.modules]; "
            "print('IMPORTED', bad); sys.exit(1 if bad else 0)")
    for i, path in enumerate((p, p2)):
        r = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / f"o{i}.json")], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-500:] + r.stderr[-2000:]
        assert "IMPORTED []" in r.stdout


@pytest.mark.slow
def test_peak_rss_bounded_by_the_largest_tensor(tmp_path):
    """A bf16 checkpoint whose largest tensor is 256 MB (32000 x 4096, a 7B embedding) plus 8 LLM matrices:
    scan's peak RSS (ru_maxrss of the child) < 1.5 GB."""
    import json
    import struct

    p = tmp_path / "big.safetensors"
    shapes = [("model.embed_tokens.weight", (32000, 4096))] + [
        (f"model.layers.0.mlp.{k}.weight", (11008, 4096)) for k in ("gate_proj", "up_proj")] + [
        (f"model.layers.0.self_attn.{k}_proj.weight", (4096, 4096)) for k in "qkvo"]
    hdr, off = {}, 0
    for name, s in shapes:
        nb = int(np.prod(s)) * 2
        hdr[name] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + nb]}
        off += nb
    hb = json.dumps(hdr).encode()
    hb += b" " * (-len(hb) % 8)
    rng = np.random.default_rng(7)
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb)
        pool = (rng.standard_normal(1 << 22).astype(np.float32) * 0.02).view(np.uint32) >> 16
        pool = pool.astype(np.uint16)
        for _, s in shapes:
            n = int(np.prod(s))
            for lo in range(0, n, pool.size):
                f.write(pool[: min(pool.size, n - lo)].tobytes())
    code = ("import resource, sys; from paramstat.verdict import scan; scan(sys.argv[1], progress=False); "
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    rss_mb = int(r.stdout.split("RSS")[-1]) / 1024
    assert rss_mb < 1500, rss_mb


def _vm_hwm_mib_of(args: list[str]) -> tuple[float, str]:
    """Run ``paramstat ARGS`` in a fresh interpreter; (its peak RSS in MiB, output). The peak is VmHWM of
    /proc/self/status: the high-water mark of the process' own address space since exec (ru_maxrss of a
    forked child can start from the parent's RSS)."""
    code = ("import sys; from paramstat.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\nelse:\n    rc = 0\n"
            "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]\n"
            "print('HWM', hwm, 'RC', rc)")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0 and "RC 0" in r.stdout, r.stdout[-1000:] + r.stderr[-2000:]
    return int(r.stdout.split("HWM")[-1].split()[0]) / 1024, r.stdout


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_rss_with_a_512_mb_tensor(tmp_path, synth):
    """A bf16 checkpoint whose largest tensor is 512 MiB (16384 x 16384) plus three small ones: scan,
    compare (two such files) and extract each stay below 1.5 GB of peak RSS (scan held 1.94 GiB before
    its bf16 reads were widened in place: the bits plus their float32 copy)."""
    shapes = [("model.embed_tokens.weight", (16384, 16384)), ("model.norm.weight", (16384,)),
              ("model.layers.0.self_attn.q_proj.weight", (1024, 1024)), ("lm_head.bias", (16384,))]
    paths = []
    for seed in (7, 8):
        p = tmp_path / f"big{seed}.safetensors"
        rng = np.random.default_rng(seed)
        pool = ((rng.standard_normal(1 << 22).astype(np.float32) * 0.02).view(np.uint32) >> 16).astype(np.uint16)
        with open(p, "wb") as f:
            f.write(synth.safetensors_prefix(shapes))
            for _, shp in shapes:
                n = int(np.prod(shp))
                for lo in range(0, n, pool.size):
                    f.write(pool[: min(pool.size, n - lo)].tobytes())
        paths.append(str(p))
    limit_mib = 1.5e9 / 2**20
    scan_mib, out = _vm_hwm_mib_of(["scan", paths[0], "--no-progress", "--json", str(tmp_path / "s.json")])
    assert scan_mib < limit_mib, scan_mib
    assert scan_mib > 1024, scan_mib  # the 1 GiB of float32 values: the measurement sees the tensor
    cmp_mib, _ = _vm_hwm_mib_of(["compare", *paths, "--no-progress", "--json", str(tmp_path / "c.json")])
    assert cmp_mib < limit_mib, cmp_mib
    ext_mib, _ = _vm_hwm_mib_of(["extract", paths[0], "-o", str(tmp_path / "x.h5"), "--compression", "none"])
    assert ext_mib < limit_mib, ext_mib
