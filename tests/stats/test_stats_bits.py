"""Bit-level tests against np.unpackbits counts and statsmodels per bit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.sandbox.stats.runs import runstest_1samp

from paramstat.dtypes import LAYOUTS
from paramstat.stats import _bitkernel, _numba
from paramstat.stats.bits import bit_tests, bit_tests_from_counts


def bit_matrix(u):
    """(n, nbits) 0/1 matrix, column k = bit k (independent of the kernel: np.unpackbits)."""
    u = np.ascontiguousarray(u).reshape(-1)
    nb = u.dtype.itemsize * 8
    by = u.view(np.uint8).reshape(-1, u.dtype.itemsize)
    return np.unpackbits(by, axis=1, bitorder="little").reshape(-1, nb)


def oracle_counts(u):
    m = bit_matrix(u).astype(np.int64)
    return m.sum(0), (m[1:] != m[:-1]).sum(0)


KINDS = [(np.uint8, "uint8"), (np.uint16, "float16"), (np.uint32, "float32"), (np.uint64, "float64")]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 4095, 4096, 10_007, 200_003])
@pytest.mark.parametrize("dt,_", KINDS)
def test_counts_match_unpackbits(dt, _, n):
    u = np.random.default_rng(n).integers(0, np.iinfo(dt).max, n, dtype=dt, endpoint=True)
    o, t = oracle_counts(u)
    for use in (True, False):
        a, b = _bitkernel.bit_counts(u, use_numba=use) if _bitkernel.get_kernel() or not use else (o, t)
        np.testing.assert_array_equal(a, o)
        np.testing.assert_array_equal(b, t)


def test_kernel_parallel_chunks_agree():
    if _bitkernel.get_kernel() is None:
        pytest.skip("numba not installed")
    u = np.random.default_rng(0).integers(0, 2**32, 300_001, dtype=np.uint32)
    ref = _bitkernel.counts_numpy(u)
    for ch in (1, 3, 17):
        got = _bitkernel.bit_counts(u, use_numba=True, nchunks=ch)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("dtype,npdt", [("float32", np.float32), ("float16", np.float16), ("float64", np.float64)])
def test_runs_and_monobit_match_statsmodels(dtype, npdt):
    x = (np.random.default_rng(1).standard_normal(5003) * 0.05).astype(npdt)
    bt = bit_tests(x, dtype)
    m = bit_matrix(x.view(f"u{x.dtype.itemsize}"))
    n = x.size
    assert bt.n == n and bt.nbits == LAYOUTS[dtype].bits
    for k in range(bt.nbits):
        col = m[:, k]
        n1 = int(col.sum())
        assert bt.ones[k] == n1
        assert bt.monobit_z[k] == pytest.approx((n1 - n / 2) / np.sqrt(n / 4), abs=1e-12)
        if n1 in (0, n):
            assert bt.constant[k] and np.isnan(bt.runs_z[k]) and np.isnan(bt.runs_p[k])
        else:
            z, p = runstest_1samp(col.astype(float), cutoff=0.5, correction=False)
            assert bt.runs_z[k] == pytest.approx(z, abs=1e-9)
            assert bt.runs_p[k] == pytest.approx(p, abs=1e-9)
    # sign bit of a symmetric sample is balanced, exponent top bit of |x| < 2 is constant 0
    assert not bt.constant[LAYOUTS[dtype].sign]
    assert bt.constant[LAYOUTS[dtype].exponent[1]]


def test_bf16_raw_bits_and_dtype_history():
    t = (np.random.default_rng(0).standard_normal(20_000) * 0.02).astype(np.float32)
    u = t.view(np.uint32)
    raw = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    bt = bit_tests(raw, "bfloat16")
    assert bt.nbits == 16
    ref = bit_matrix(raw).sum(0)
    np.testing.assert_array_equal(bt.ones, ref)
    # bf16 saved as fp32: fraction bits 0-15 constant zero
    f32 = (raw.astype(np.uint32) << 16).view(np.float32)
    s = bit_tests(f32, "float32")
    assert s.constant[:16].all() and not s.constant[16:23].any()
    summ = s.summary()
    assert summ["frac_0_7"]["n_constant"] == 8 and summ["frac_8_15"]["n_constant"] == 8
    assert np.isnan(summ["frac_0_7"]["max_abs_z"])
    assert summ["frac_16_22"]["n_constant"] == 0
    assert s.low_constant_bits == 16 and summ["low_constant_bits"] == 16
    x16 = (np.random.default_rng(1).standard_normal(5000) * 0.02).astype(np.float16)
    assert bit_tests(x16.astype(np.float32), "float32").low_constant_bits == 13  # fp16 round trip
    assert bit_tests(x16, "float16").low_constant_bits == 0
    assert bit_tests(t, "float32").low_constant_bits == 0


def test_summary_groups_and_values():
    x = np.random.default_rng(3).uniform(-0.1, 0.1, 10_000).astype(np.float32)
    bt = bit_tests(x, "float32")
    s = bt.summary()
    for g in ("sign", "exponent", "fraction", "frac_0_7", "frac_8_15", "frac_16_22", "all"):
        assert set(s[g]) == {"max_abs_z", "mean_abs_z", "max_abs_monobit_z", "n_constant"}
    z = np.abs(bt.runs_z[8:16])
    assert s["frac_8_15"]["max_abs_z"] == pytest.approx(np.nanmax(z))
    assert s["frac_8_15"]["mean_abs_z"] == pytest.approx(np.nanmean(z))
    assert s["sign"]["max_abs_z"] == pytest.approx(abs(bt.runs_z[31]))
    # i.i.d. sample: fraction bits look random
    assert s["fraction"]["max_abs_z"] < 5
    d = bt.to_dict()
    assert len(d["runs_z"]) == 32 and d["summary"]["frac_0_7"]["n_constant"] == 0
    assert set(bit_tests(x.astype(np.float16), "float16").summary()) >= {"frac_0_3", "frac_4_6", "frac_7_9"}


def test_image_bytes_are_not_iid():
    # smooth 'image' rows: neighbouring pixels nearly equal -> huge runs Z on the high bits
    ramp = np.tile(np.linspace(0, 255, 256).astype(np.uint8), (64, 1))
    bt = bit_tests(ramp, "uint8")
    assert bt.nbits == 8 and bt.summary()["high_nibble"]["max_abs_z"] > 100


def test_pooled_counts_from_counts():
    a = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    b = np.random.default_rng(1).standard_normal(3000).astype(np.float32)
    ta, tb = bit_tests(a, "float32"), bit_tests(b, "float32")
    pooled = bit_tests_from_counts(8000, ta.ones + tb.ones, ta.transitions + tb.transitions, "float32")
    assert pooled.n == 8000 and pooled.ones[31] == ta.ones[31] + tb.ones[31]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=300))
def test_complement_invariance(vals):
    u = np.array(vals, dtype=np.uint32)
    a = bit_tests(u.view(np.float32), "float32")
    b = bit_tests((~u).view(np.float32), "float32")
    np.testing.assert_array_equal(a.transitions, b.transitions)
    np.testing.assert_array_equal(a.constant, b.constant)
    np.testing.assert_allclose(a.runs_z, b.runs_z, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(a.monobit_z, -b.monobit_z, atol=1e-12)
    # kernel on small arrays (exercises the word/tail split) agrees with unpackbits
    if _bitkernel.get_kernel() is not None:
        o, t = _bitkernel.bit_counts(u, use_numba=True)
        ro, rt = oracle_counts(u)
        np.testing.assert_array_equal(o, ro)
        np.testing.assert_array_equal(t, rt)


def test_numba_only_where_it_pays(monkeypatch):
    calls = []
    monkeypatch.setattr(_numba, "_modules", {})
    monkeypatch.setattr(_bitkernel, "_numpy_values", 0)
    monkeypatch.setattr(_bitkernel, "get_kernel", lambda compile=True: calls.append(compile))
    u = np.arange(100_000, dtype=np.uint32)
    ref = oracle_counts(u)
    got = _bitkernel.bit_counts(u)  # small model: numpy, numba never asked for
    assert calls == [] and _bitkernel._numpy_values == 100_000
    np.testing.assert_array_equal(got[0], ref[0])
    monkeypatch.setattr(_bitkernel, "_numpy_values", _bitkernel._CUMULATIVE)
    _bitkernel.bit_counts(u)  # after 32M values counted with numpy: numba wanted
    assert calls == [True]


@pytest.mark.parametrize("chunk,n", [(1, 9), (7, 60), (1000, 5003)])
def test_numpy_fallback_chunk_boundaries(monkeypatch, chunk, n):
    monkeypatch.setattr(_bitkernel, "_CHUNK", chunk)
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        u = np.random.default_rng(chunk).integers(0, np.iinfo(dt).max, n, dtype=dt, endpoint=True)
        o, t = _bitkernel.counts_numpy(u)
        ro, rt = oracle_counts(u)
        np.testing.assert_array_equal(o, ro)
        np.testing.assert_array_equal(t, rt)


def test_big_endian_input_gives_the_same_bits():
    x = np.random.default_rng(9).standard_normal(3000).astype(np.float32)
    a, b = bit_tests(x, "float32"), bit_tests(x.astype(">f4"), "float32")
    np.testing.assert_array_equal(a.ones, b.ones)
    np.testing.assert_array_equal(a.transitions, b.transitions)


def test_without_numba_falls_back(monkeypatch):
    monkeypatch.setattr(_numba, "_modules", {})
    monkeypatch.setattr(_numba, "_errors", {_bitkernel._MOD: "ModuleNotFoundError: No module named 'numba'"})
    u = np.random.default_rng(3).integers(0, 2**16, 50_000, dtype=np.uint16)
    o, t = _bitkernel.bit_counts(u, use_numba=None)
    ro, rt = oracle_counts(u)
    np.testing.assert_array_equal(o, ro)
    np.testing.assert_array_equal(t, rt)
    with pytest.raises(RuntimeError, match="numba"):
        _bitkernel.bit_counts(u, use_numba=True)
    bt = bit_tests(u.view(np.float16), "float16")  # public API still works
    np.testing.assert_array_equal(bt.ones, ro)


def test_unaligned_slices():
    x = np.random.default_rng(5).standard_normal(20_001).astype(np.float32)
    for sl in (x[1:], x[3:-2], x.astype(np.float16)[1:]):
        u = sl.view(f"u{sl.dtype.itemsize}")
        assert u.ctypes.data % 8 != 0
        o, t = _bitkernel.bit_counts(u, use_numba=True if _bitkernel.get_kernel() else False)
        ro, rt = oracle_counts(u)
        np.testing.assert_array_equal(o, ro)
        np.testing.assert_array_equal(t, rt)


def test_bits_of_a_strided_bf16_view_counted_in_chunks_equal_the_contiguous_bits(monkeypatch):
    """bf16 bits handed over as the upper halves of their float32 values (stats.floatpass.high_bits, a
    strided view) are counted chunk by chunk without a whole copy: the same ones and transitions (the pair
    bridging two chunks included) as the contiguous bits."""
    from paramstat.stats import bits as B
    from paramstat.stats.floatpass import high_bits, widen_chunk

    monkeypatch.setattr(B, "CHUNK", 1000)
    raw = np.random.default_rng(11).integers(0, 1 << 16, 10_007, dtype=np.uint32).astype(np.uint16)
    f32 = np.empty(raw.size, np.uint32)
    widen_chunk(raw, f32)
    view = high_bits(f32)
    assert not view.flags.c_contiguous
    a, b = B.bit_tests(raw, "bfloat16"), B.bit_tests(view, "bfloat16")
    np.testing.assert_array_equal(b.ones, a.ones)
    np.testing.assert_array_equal(b.transitions, a.transitions)
    # the oracle: numpy bit by bit
    bitsm = (raw[:, None] >> np.arange(16)) & 1
    np.testing.assert_array_equal(b.ones, bitsm.sum(0))
    np.testing.assert_array_equal(b.transitions, (bitsm[1:] != bitsm[:-1]).sum(0))
