"""Bit-level tests for every bit position of a tensor at once (BRIEF §2).

With u the unsigned view of the IEEE bits in C order, for bit k: ones[k] = popcount of bit k over u,
transitions[k] = popcount of bit k over u[1:] ^ u[:-1] (counted by ``_bitkernel``), and
    monobit Z   = (ones - n/2) / sqrt(n/4)                            (frequency test)
    runs Z      = Wald–Wolfowitz with R = transitions + 1 (``runs.runs_z_from_counts``), p two-sided.
A bit with ones in {0, n} is ``constant``: runs Z and p are NaN (no evidence), monobit Z is kept
(a constant bit is a legitimate, extreme frequency result).
Summaries per IEEE field and per the seed's fraction groups (``dtypes.LAYOUTS[...].fraction_groups``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import LAYOUTS, as_bits
from ._bitkernel import bit_counts
from .runs import runs_z_from_counts

_SUMMARY_KEYS = ("max_abs_z", "mean_abs_z", "max_abs_monobit_z", "n_constant")


@dataclass
class BitTests:
    dtype: str
    n: int
    ones: np.ndarray         # int64 (nbits,)
    transitions: np.ndarray  # int64 (nbits,)
    monobit_z: np.ndarray    # float64 (nbits,)
    runs_z: np.ndarray       # float64, NaN where constant
    runs_p: np.ndarray       # float64, NaN where constant
    constant: np.ndarray     # bool

    @property
    def nbits(self) -> int:
        return int(self.ones.size)

    @property
    def low_constant_bits(self) -> int:
        """Consecutive constant bits from bit 0 within the fraction (dtype history, BRIEF §2: bf16 values
        stored as fp32 give 16, fp16 round trips 13; an i.i.d. fp32 sample 0)."""
        top = LAYOUTS[self.dtype].fraction[1] + 1 if self.dtype in LAYOUTS else self.nbits
        k = 0
        while k < top and self.constant[k]:
            k += 1
        return k

    def groups(self) -> dict[str, tuple[int, int]]:
        """Inclusive bit ranges of the IEEE fields and fraction groups for this dtype."""
        return bit_groups(self.dtype)

    def group_stats(self, lo: int, hi: int) -> dict:
        """max/mean |runs Z| over the non-constant bits lo..hi, max |monobit Z|, n_constant."""
        sl = slice(lo, hi + 1)
        z = np.abs(self.runs_z[sl])
        z = z[~np.isnan(z)]
        mz = np.abs(self.monobit_z[sl])
        return {
            "max_abs_z": float(z.max()) if z.size else float("nan"),
            "mean_abs_z": float(z.mean()) if z.size else float("nan"),
            "max_abs_monobit_z": float(mz.max()) if mz.size else float("nan"),
            "n_constant": int(self.constant[sl].sum()),
        }

    def summary(self) -> dict:
        """{group: {max_abs_z, mean_abs_z, max_abs_monobit_z, n_constant}} plus 'all' and tensor-wide
        'max_abs_z', 'mean_abs_z', 'n_constant' (over non-constant bits) and 'low_constant_bits'."""
        out = {name: self.group_stats(lo, hi) for name, (lo, hi) in self.groups().items()}
        allg = self.group_stats(0, self.nbits - 1)
        out["all"] = allg
        out["max_abs_z"] = allg["max_abs_z"]
        out["mean_abs_z"] = allg["mean_abs_z"]
        out["n_constant"] = allg["n_constant"]
        out["low_constant_bits"] = self.low_constant_bits
        return out

    def to_dict(self) -> dict:
        return {
            "dtype": self.dtype, "n": self.n,
            "ones": self.ones.tolist(), "transitions": self.transitions.tolist(),
            "monobit_z": self.monobit_z.tolist(), "runs_z": self.runs_z.tolist(),
            "runs_p": self.runs_p.tolist(), "constant": self.constant.tolist(),
            "summary": self.summary(),
        }


def bit_groups(dtype: str) -> dict[str, tuple[int, int]]:
    """Named inclusive bit ranges: 'sign', 'exponent', 'fraction' and 'frac_<lo>_<hi>' for floats;
    'bit_<k>' ranges do not exist for uint8 — it has 'low_nibble' (0-3) and 'high_nibble' (4-7)."""
    if dtype == "uint8":
        return {"low_nibble": (0, 3), "high_nibble": (4, 7)}
    lay = LAYOUTS[dtype]
    g = {"sign": (lay.sign, lay.sign), "exponent": lay.exponent, "fraction": lay.fraction}
    for lo, hi in lay.fraction_groups:
        g[f"frac_{lo}_{hi}"] = (lo, hi)
    return g


def _unsigned(arr: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        a = np.ascontiguousarray(arr)
        if a.dtype.itemsize != 1:
            raise TypeError(f"dtype='uint8' needs a 1-byte array, got {a.dtype}")
        return a.view(np.uint8)
    if dtype not in LAYOUTS:
        raise ValueError(f"bit tests support {sorted(LAYOUTS)} and 'uint8', not {dtype!r}")
    arr = np.asarray(arr)
    if not arr.dtype.isnative:  # big-endian storage: test the value's IEEE bits, not the byte order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    u = as_bits(arr, dtype)
    if u.dtype.itemsize * 8 != LAYOUTS[dtype].bits:
        raise TypeError(f"array of {np.asarray(arr).dtype} does not hold {dtype} values")
    return u


def bit_tests_from_counts(n: int, ones, transitions, dtype: str) -> BitTests:
    """BitTests from counts (also for counts pooled over several tensors: add ones and transitions,
    never join tensors into one sequence)."""
    ones = np.asarray(ones, dtype=np.int64)
    transitions = np.asarray(transitions, dtype=np.int64)
    nf = float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = (ones.astype(np.float64) - nf / 2.0) / np.sqrt(nf / 4.0) if n > 0 else np.full(ones.size, np.nan)
    z, p, const = runs_z_from_counts(n, ones, transitions + 1)
    return BitTests(dtype, int(n), ones, transitions, np.asarray(mono, dtype=np.float64), z, p, const)


def bit_tests(arr: np.ndarray, dtype: str) -> BitTests:
    """Ones, monobit Z, runs Z/p and constant flag for every bit position of ``arr`` (C order).

    dtype: 'float32', 'float16', 'bfloat16' (raw uint16 bits), 'float64', or 'uint8' (bytes)."""
    a = np.asarray(arr)
    if dtype == "bfloat16" and a.dtype == np.uint16 and not a.flags.c_contiguous and a.size > CHUNK:
        return bit_tests_from_counts(a.size, *_chunked_counts(a.reshape(-1)), dtype)
    u = _unsigned(arr, dtype).reshape(-1)
    ones, trans = bit_counts(u)
    return bit_tests_from_counts(u.size, ones, trans, dtype)


CHUNK = 1 << 22


def _chunked_counts(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bit_counts of a strided 1-D unsigned array (e.g. bf16 bits that are the upper halves of their
    float32 values, stats.floatpass.high_bits) one contiguous chunk at a time, no whole copy: the counts
    add up, plus the transition bridging each pair of chunks."""
    ones = trans = 0
    prev = None
    chunk = CHUNK
    for lo in range(0, u.size, chunk):
        c = np.ascontiguousarray(u[lo: lo + chunk])
        o, t = bit_counts(c)
        ones, trans = ones + o, trans + t
        if prev is not None:
            trans = trans + ((int(prev) ^ int(c[0])) >> np.arange(8 * c.itemsize) & 1)
        prev = c[-1]
    return ones, trans
