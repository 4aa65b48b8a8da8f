"""Mutation fuzzing of every container paramstat parses: valid small files (tests/hostile/generate.py) with
bytes flipped, inserted, deleted or cut, and safetensors headers with hypothesis-drawn JSON in every field.
Each example is opened and every tensor read in a forked child (a crash or a runaway allocation cannot take
the test run down; the child's data segment is capped at 2 GiB): the only allowed outcomes are success and
`ParamstatError`. Bounded in time by hypothesis' example counts (about 10 s a format)."""
from __future__ import annotations

import functools
import json
import os
import resource
import signal
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import generate  # noqa: E402

CHILD_DATA = 2 << 30
EXAMPLES = int(os.environ.get("PARAMSTAT_FUZZ_EXAMPLES", "60"))   # per format; deeper runs: raise it
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def base_files(d: Path) -> dict[str, Path]:
    """One small valid file per container (the seeds of every mutation)."""
    import h5py
    import torch

    w = generate.weights()
    out = {"safetensors": d / "w.safetensors", "npz": d / "w.npz", "torch_zip": d / "w.pt",
           "torch_legacy": d / "legacy.pt", "onnx": d / "m.onnx", "hdf5": d / "w.h5",
           "keras_weights_h5": d / "k.weights.h5"}
    out["safetensors"].write_bytes(generate.safetensors_bytes(w))
    np.savez(out["npz"], **w)
    torch.save({k: torch.from_numpy(v) for k, v in w.items()}, out["torch_zip"])
    torch.save({k: torch.from_numpy(v) for k, v in w.items()}, out["torch_legacy"],
               _use_new_zipfile_serialization=False)
    generate.onnx_model([generate.onnx_raw("fc", [32, 64], w["fc1.weight"].T.copy().tobytes())], out["onnx"])
    with h5py.File(out["hdf5"], "w") as f:
        for k, v in w.items():
            f[k.replace(".", "/")] = v
    with h5py.File(out["keras_weights_h5"], "w") as f:
        g = f.create_group("layers/dense/vars")
        g.attrs["name"] = "dense"
        g["0"], g["1"] = w["fc1.weight"].T.copy(), w["fc1.bias"]
    return out


def open_in_child(path: Path) -> str | None:
    """Open ``path`` with paramstat and read every tensor in a forked child; None if it succeeded or raised
    ParamstatError, else what happened (the exception, or the signal that killed the child)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: never returns
        code = 0
        try:
            os.close(r)
            resource.setrlimit(resource.RLIMIT_DATA, (CHILD_DATA, CHILD_DATA))
            signal.alarm(30)
            from paramstat.errors import ParamstatError
            from paramstat.sources import load

            try:
                for rec in load(str(path), hash=False):
                    if rec.analysable:
                        rec.read()
            except ParamstatError:
                pass
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            os.write(w, f"{type(e).__name__}: {str(e)[:300]}".encode())
            code = 1
        os._exit(code)
    os.close(w)
    msg = b""
    while chunk := os.read(r, 4096):
        msg += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"child killed by signal {os.WTERMSIG(status)}"
    return msg.decode(errors="replace") if os.WEXITSTATUS(status) else None


@functools.lru_cache(maxsize=1)
def bases() -> dict[str, bytes]:
    """The seed files' bytes; each is also opened here once, so every reader's lazy imports happen in the
    parent and a forked child costs milliseconds, not an import of torch / h5py / onnx."""
    from paramstat.sources import load

    with tempfile.TemporaryDirectory() as d:
        files = base_files(Path(d))
        for p in files.values():
            for rec in load(str(p), hash=False):
                rec.read()
        return {k: p.read_bytes() for k, p in files.items()}


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("set"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
)


def mutate(data: bytes, muts) -> bytes:
    b = bytearray(data)
    for kind, pos, v in muts:
        i = pos % max(len(b), 1)
        if kind == "flip" and b:
            b[i] ^= v
        elif kind == "set" and b:
            b[i] = v
        elif kind == "cut":
            del b[i:]
        elif kind == "insert":
            b[i:i] = bytes([v]) * (1 + pos % 7)
        elif kind == "delete":
            del b[i:i + v]
    return bytes(b)


def _fuzz(fmt, tmp_path, muts):
    name = {"safetensors": "f.safetensors", "npz": "f.npz", "torch_zip": "f.pt", "torch_legacy": "f.pt",
            "onnx": "f.onnx", "hdf5": "f.h5", "keras_weights_h5": "f.weights.h5"}[fmt]
    p = tmp_path / name
    p.write_bytes(mutate(bases()[fmt], muts))
    bad = open_in_child(p)
    assert bad is None, f"{fmt} with {muts}: {bad}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["safetensors", "npz", "torch_zip", "torch_legacy", "onnx", "hdf5",
                                 "keras_weights_h5"])
@SETTINGS
@given(muts=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_containers_fail_cleanly(fmt, tmp_path, muts):
    _fuzz(fmt, tmp_path, muts)


# hypothesis-drawn JSON where the safetensors spec wants a dtype string, a shape list and two offsets
json_value = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
                          | st.text(max_size=8) | st.sampled_from(["F32", "BF16", "F16", "I64", "U8", "BOOL"]),
                          lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                          max_leaves=8)
entry = st.fixed_dictionaries({}, optional={"dtype": json_value, "shape": json_value, "data_offsets": json_value,
                                            "extra": json_value})
shape_like = st.lists(st.integers(-3, 1 << 40), max_size=4)
offsets_like = st.lists(st.integers(-3, 1 << 40), min_size=0, max_size=3)
plausible = st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "F16", "BF16", "I64", "F64", "U8", "BOOL"]),
                                   "shape": shape_like, "data_offsets": offsets_like})


@pytest.mark.slow
@SETTINGS
@given(header=st.dictionaries(st.text(min_size=1, max_size=12), entry | plausible, min_size=1, max_size=5),
       data_len=st.integers(0, 4096), metadata=st.none() | json_value)
def test_safetensors_header_fields(tmp_path, header, data_len, metadata):
    bases()   # readers imported in the parent
    if metadata is not None:
        header = dict(header, __metadata__=metadata)
    p = tmp_path / "h.safetensors"
    raw = json.dumps(header).encode()
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * data_len)
    bad = open_in_child(p)
    assert bad is None, f"header {header}: {bad}"


def test_open_in_child_reports_a_non_paramstat_error(tmp_path, monkeypatch):
    """The harness can fail: a reader bug (here a planted TypeError) is reported, not swallowed."""
    from paramstat.sources.readers import safetensors_file

    p = tmp_path / "w.safetensors"
    p.write_bytes(generate.safetensors_bytes(generate.weights()))
    assert open_in_child(p) is None

    def boom(*a, **k):
        raise TypeError("planted")
    monkeypatch.setattr(safetensors_file, "read_header", boom)
    assert open_in_child(p) == "TypeError: planted"


@pytest.mark.slow
@pytest.mark.parametrize("fmt,muts", [
    ("onnx", [("flip", 36, 28)]),            # data_type 29: protobuf's enum Name() raised ValueError
    ("hdf5", [("insert", 115, 0)]),          # h5py RuntimeError "address of object past end of allocation"
    ("keras_weights_h5", [("insert", 59, 0)]),   # the same as KeyError, inside the Keras walk
])
def test_mutations_that_used_to_escape(fmt, muts, tmp_path):
    """The fuzzers' first finds, kept as regressions (each was an `internal error` before its fix)."""
    _fuzz(fmt, tmp_path, muts)
