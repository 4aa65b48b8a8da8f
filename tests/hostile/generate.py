"""Hostile checkpoints, built on demand (nothing large is committed): ``build(family, root)`` writes every
case of one family under ``root`` and returns its `Case` list; ``FAMILIES`` names them.

Each case is a file (or folder) an attacker could hand a user, with the commands to run on it and what must
happen. ``root/outside/`` holds what no run may open: a secret text file (``SECRET``), a real safetensors
file and an HDF5 file, the targets of references that try to leave the input's folder. ``root/marker-*``
files are what a payload would create if any code from a file ran.

Families (the issue's list, docs/SECURITY.md):
- ``outside``: HDF5 external raw storage / external links / virtual datasets (plain and Keras layouts),
  shard indexes and ONNX external data naming ``..``, absolute paths and symlinks out, a folder whose weights
  file is a symlink out;
- ``memory``: zip members and HDF5 chunks that inflate past the limit, sizes declared larger than the bytes
  present (safetensors, npz, ONNX, torch storages), sparse huge HDF5/npz datasets, a pickled dict DAG that
  flattens exponentially;
- ``count``: tens of thousands of (empty) tensors, in safetensors headers, npz members and HDF5 datasets;
- ``malformed``: what used to end as ``internal error`` (dtype as a JSON list, 100k nested ``[``,
  self-referencing pickles, offsets past the end, negative ONNX dims, structured npz dtypes, truncated files);
- ``code``: pickles whose ``__reduce__`` runs ``os.system`` / ``exec`` / ``builtins.open`` in every container
  paramstat reads (torch zip, legacy torch, TorchScript ``data.pkl``, npz object arrays, ``.ckpt``);
- ``valid``: control cases that must still work (an all-NaN weight is reported, not fatal).
"""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SECRET = b"PARAMSTAT-SECRET-7f3a9c-do-not-read\n" * 8
FAMILIES = ("outside", "memory", "count", "malformed", "code", "valid")
SMALL_LIMIT = "64M"   # --max-tensor-bytes for bombs built at test scale (they inflate to 256 MiB)


@dataclass
class Case:
    """One hostile input. ``runs``: argument lists (``{src}`` = the input, ``{out}`` = a fresh output path);
    ``expect``: 'refuse' (exit 2, one line) or 'ok' (exit 0); ``says``: words the message must contain."""
    name: str
    family: str
    src: str
    runs: list[list[str]]
    expect: str = "refuse"
    says: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()


READ_RUNS = [["info", "{src}"], ["scan", "{src}", "--no-progress"], ["extract", "{src}", "-o", "{out}"]]
ALL_RUNS = READ_RUNS + [["info", "{src}", "--no-values", "--no-hash"], ["compare", "{src}", "{src}"]]


# --------------------------------------------------------------------------- writers of valid files
def safetensors_bytes(tensors: dict[str, np.ndarray] | None = None, header: dict | None = None,
                      data: bytes | None = None, raw_header: bytes | None = None) -> bytes:
    """A safetensors file (the format's spec: u64 little-endian header length, JSON header, data)."""
    if raw_header is None:
        if header is None:
            header, chunks, off = {}, [], 0
            names = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64"}
            for k, a in (tensors or {}).items():
                b = np.ascontiguousarray(a).tobytes()
                header[k] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
                chunks.append(b)
                off += len(b)
            data = b"".join(chunks)
        raw_header = json.dumps(header).encode()
    return struct.pack("<Q", len(raw_header)) + raw_header + (data or b"")


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    """A tiny trained-looking MLP's tensors (values do not matter here)."""
    r = np.random.default_rng(seed)
    return {"fc1.weight": r.standard_t(4, (64, 32)).astype("float32") * 0.1,
            "fc1.bias": r.normal(0, 0.01, 64).astype("float32"),
            "fc2.weight": r.standard_t(4, (10, 64)).astype("float32") * 0.1}


def npy_bytes(header: dict, data: bytes) -> bytes:
    """A .npy member (NumPy format 1.0: magic, u16 header length, dict literal padded to 64 bytes)."""
    h = repr(header).encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def write_zip(path: Path, members: dict[str, bytes], compress: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for k, v in members.items():
            z.writestr(k, v)


def forge_zip_size(path: Path, member: str, size: int) -> None:
    """Rewrite a stored zip member's declared uncompressed size (local and central headers) to ``size``
    (ZIP64 extra fields are not used: ``size`` < 4 GiB)."""
    b = bytearray(path.read_bytes())
    name = member.encode()
    i = 0
    while (i := b.find(name, i)) >= 0:
        if b[i - 30:i - 26] == b"PK\x03\x04":
            struct.pack_into("<I", b, i - 30 + 22, size)
        elif b[i - 46:i - 42] == b"PK\x01\x02":
            struct.pack_into("<I", b, i - 46 + 24, size)
        i += len(name)
    path.write_bytes(bytes(b))


def onnx_model(initializers, path: Path) -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("MatMul", ["x", initializers[0].name], ["y"])
    g = helper.make_graph([node], "g", [x], [y], initializer=list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(m.SerializeToString())


def onnx_external(name: str, location: str, shape=(32, 64), length: int | None = None):
    from onnx import TensorProto

    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape))
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"),
                 ("length", str(length if length is not None else 4 * int(np.prod(shape))))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def onnx_raw(name: str, shape, raw: bytes):
    from onnx import TensorProto

    return TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape), raw_data=raw)


def torch_pickle_bytes(obj_pickle: bytes) -> bytes:
    """A torch zip archive (``archive/data.pkl`` + ``archive/version``) around a hand-made pickle."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", obj_pickle)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


class _Payload:
    """Pickles to ``fn(*args)``: what a malicious checkpoint does on load."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def payloads(marker: Path) -> dict[str, object]:
    import builtins

    m = str(marker)
    return {"os_system": _Payload(os.system, (f"touch {m}.os_system",)),
            "exec": _Payload(builtins.exec, (f"open({m + '.exec'!r}, 'w').write('ran')",)),
            "open": _Payload(builtins.open, (m + ".open", "w"))}


# --------------------------------------------------------------------------- shared setup
def outside(root: Path) -> Path:
    """``root/outside``: what no run may open (created once per root)."""
    o = root / "outside"
    if not o.exists():
        o.mkdir(parents=True)
        (o / "secret.txt").write_bytes(SECRET)
        (o / "x.safetensors").write_bytes(safetensors_bytes(weights(1)))
        import h5py

        with h5py.File(o / "x.h5", "w") as f:
            f["x"] = np.frombuffer(SECRET, dtype="uint8").astype("float32").reshape(-1, 8)
    return o


def _case_dir(root: Path, name: str) -> Path:
    d = root / "cases" / name
    d.mkdir(parents=True, exist_ok=True)
    return d


# --------------------------------------------------------------------------- families
def _outside(root: Path) -> list[Case]:
    import h5py

    o = outside(root)
    secret, cases = o / "secret.txt", []

    def h5case(name, fill, runs=ALL_RUNS, says=("refused",)):
        d = _case_dir(root, name)
        p = d / "w.h5"
        with h5py.File(p, "w") as f:
            fill(f)
        cases.append(Case(name, "outside", str(p), runs, says=says))

    h5case("h5_external_raw_abs", lambda f: f.create_dataset("w", (len(SECRET) // 4,), "f4",
                                                                external=[(str(secret), 0, len(SECRET))]))
    h5case("h5_external_raw_rel", lambda f: f.create_dataset("w", (len(SECRET) // 4,), "f4",
                                                                external=[("../../outside/secret.txt", 0,
                                                                           len(SECRET))]))
    h5case("h5_external_link", lambda f: f.__setitem__("w", h5py.ExternalLink(str(o / "x.h5"), "/x")))

    def vds(f):
        lay = h5py.VirtualLayout(shape=(len(SECRET) // 8, 8), dtype="f4")
        lay[:] = h5py.VirtualSource(str(o / "x.h5"), "x", shape=(len(SECRET) // 8, 8))
        f.create_virtual_dataset("w", lay)
    h5case("h5_virtual_dataset", vds)

    def keras_legacy(f):   # Keras 2 save_weights layout with one weight an external link
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        g.create_group("dense")["kernel:0"] = h5py.ExternalLink(str(o / "x.h5"), "/x")
        g["dense"]["bias:0"] = np.zeros(8, "f4")
    h5case("keras_h5_external_link", keras_legacy)

    def keras3(f):        # Keras 3 .weights.h5 layout with external raw storage
        v = f.create_group("layers/dense/vars")
        v.attrs["name"] = "dense"
        v.create_dataset("0", (len(SECRET) // 32, 8), "f4", external=[(str(secret), 0, len(SECRET))])
        v["1"] = np.zeros(8, "f4")
    d = _case_dir(root, "keras3_external_raw")
    with h5py.File(d / "w.weights.h5", "w") as f:
        keras3(f)
    cases.append(Case("keras3_external_raw", "outside", str(d / "w.weights.h5"), ALL_RUNS, says=("refused",)))

    # a .keras archive whose weights file is an HDF5 with an external link
    d = _case_dir(root, "keras_zip_external_link")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        keras3(f)
    write_zip(d / "m.keras", {"config.json": json.dumps({"class_name": "Sequential", "config": {"layers": []}}),
                              "metadata.json": "{}", "model.weights.h5": buf.getvalue()})
    cases.append(Case("keras_zip_external_link", "outside", str(d / "m.keras"), READ_RUNS, says=("refused",)))

    def index_case(name, target):
        d = _case_dir(root, name)
        (d / "model-00001-of-00002.safetensors").write_bytes(safetensors_bytes({"a.weight": weights()["fc1.weight"]}))
        wm = {"a.weight": "model-00001-of-00002.safetensors", "b.weight": target}
        (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wm}))
        cases.append(Case(name, "outside", str(d / "model.safetensors.index.json"), ALL_RUNS,
                          says=("refused",)))
        return d

    index_case("index_dotdot", "../../outside/x.safetensors")
    index_case("index_absolute", str(o / "x.safetensors"))
    index_case("index_absolute_secret", str(secret))
    d = index_case("index_symlink_out", "model-00002-of-00002.safetensors")
    (d / "model-00002-of-00002.safetensors").symlink_to(o / "x.safetensors")
    # the same index as a Hugging Face folder
    d = _case_dir(root, "hf_folder_index_dotdot")
    (d / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"b.weight": "../../outside/x.safetensors"}}))
    cases.append(Case("hf_folder_index_dotdot", "outside", str(d), READ_RUNS, says=("refused",)))
    d = _case_dir(root, "hf_folder_weights_symlink_out")
    (d / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (d / "model.safetensors").symlink_to(o / "x.safetensors")
    cases.append(Case("hf_folder_weights_symlink_out", "outside", str(d), READ_RUNS, says=("refused",)))

    def onnx_case(name, location, link=False):
        d = _case_dir(root, name)
        if link:
            (d / "w.bin").symlink_to(secret)
        onnx_model([onnx_external("w", location, (8, len(SECRET) // 32), len(SECRET) // 4 * 4)], d / "m.onnx")
        cases.append(Case(name, "outside", str(d / "m.onnx"), ALL_RUNS, says=("refused",)))

    onnx_case("onnx_external_dotdot", "../../outside/secret.txt")
    onnx_case("onnx_external_absolute", str(secret))
    onnx_case("onnx_external_symlink_out", "w.bin", link=True)
    return cases


def _memory(root: Path) -> list[Case]:
    import h5py

    cases = []
    lim = ["--max-tensor-bytes", SMALL_LIMIT]
    bomb = b"\0" * (256 << 20)   # 256 MiB of zeros: ~256 KiB deflated

    def add(name, src, runs=ALL_RUNS, says=(), extra=()):
        cases.append(Case(name, "memory", str(src), [r + list(extra) for r in runs], says=says))

    d = _case_dir(root, "npz_member_bomb")
    write_zip(d / "w.npz", {"w.npy": npy_bytes({"descr": "<f4", "fortran_order": False,
                                                "shape": (len(bomb) // 4,)}, bomb)}, compress=True)
    add("npz_member_bomb", d / "w.npz", extra=lim, says=("limit", "--max-tensor-bytes"))

    d = _case_dir(root, "npz_member_lies_small")   # header and zip both claim 1 KiB, data inflates to 256 MiB
    write_zip(d / "w.npz", {"w.npy": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (256,)},
                                               bomb)}, compress=True)
    cases.append(Case("npz_member_lies_small", "memory", str(d / "w.npz"), [r + lim for r in ALL_RUNS],
                      expect="either"))   # only the declared 1 KiB is read

    d = _case_dir(root, "keras_member_bomb")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        v = f.create_group("layers/dense/vars")
        v.attrs["name"] = "dense"
        v["0"] = np.zeros((64, 32), "f4")
    write_zip(d / "m.keras", {"config.json": "{}", "metadata.json": "{}",
                              "model.weights.h5": buf.getvalue() + bomb}, compress=True)
    add("keras_member_bomb", d / "m.keras", READ_RUNS, extra=lim, says=("--max-tensor-bytes",))

    d = _case_dir(root, "keras_member_forged_size")   # stored member that declares 3.9 GiB
    write_zip(d / "m.keras", {"config.json": "{}", "metadata.json": "{}", "model.weights.h5": buf.getvalue()})
    forge_zip_size(d / "m.keras", "model.weights.h5", 0xF000_0000)
    add("keras_member_forged_size", d / "m.keras", READ_RUNS, extra=["--max-tensor-bytes", "1G"])

    d = _case_dir(root, "h5_sparse_chunked_huge")   # 2^31 float64 = 16 GiB, no chunk written: a 10 KB file
    with h5py.File(d / "w.h5", "w") as f:
        f.create_dataset("w", (1 << 31,), "f8", chunks=(1 << 16,), compression="gzip")
    add("h5_sparse_chunked_huge", d / "w.h5", says=("--max-tensor-bytes",))

    d = _case_dir(root, "h5_chunk_bomb")   # 256 MiB of zeros gzip-chunked (a 300 KB file) over a 64M limit
    with h5py.File(d / "w.h5", "w") as f:
        f.create_dataset("w", data=np.zeros(len(bomb) // 4, "f4"), chunks=(1 << 20,), compression="gzip")
    add("h5_chunk_bomb", d / "w.h5", extra=lim, says=("--max-tensor-bytes",))

    d = _case_dir(root, "safetensors_declared_huge")   # one 2^31-element tensor, 16 bytes present
    (d / "w.safetensors").write_bytes(safetensors_bytes(
        header={"w": {"dtype": "F32", "shape": [1 << 31], "data_offsets": [0, 1 << 33]}}, data=b"\0" * 16))
    add("safetensors_declared_huge", d / "w.safetensors")

    d = _case_dir(root, "safetensors_declared_past_end")   # a small tensor whose data is not there
    (d / "w.safetensors").write_bytes(safetensors_bytes(
        header={"w": {"dtype": "F32", "shape": [1024, 1024], "data_offsets": [0, 4 << 20]}}, data=b"\0" * 64))
    add("safetensors_declared_past_end", d / "w.safetensors")

    d = _case_dir(root, "npz_declared_huge")   # .npy header says 1e10 floats, 64 bytes present
    write_zip(d / "w.npz", {"w.npy": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (10 ** 10,)},
                                               b"\0" * 64)})
    add("npz_declared_huge", d / "w.npz")

    d = _case_dir(root, "npz_declared_past_end")
    write_zip(d / "w.npz", {"w.npy": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (512, 512)},
                                               b"\0" * 64)})
    add("npz_declared_past_end", d / "w.npz")

    d = _case_dir(root, "onnx_declared_huge")
    onnx_model([onnx_raw("w", [1 << 31], b"\0" * 16)], d / "m.onnx")
    add("onnx_declared_huge", d / "m.onnx")

    d = _case_dir(root, "onnx_external_declared_huge")
    (d / "w.bin").write_bytes(b"\0" * 64)
    onnx_model([onnx_external("w", "w.bin", (1 << 16, 1 << 16), 1 << 34)], d / "m.onnx")
    add("onnx_external_declared_huge", d / "m.onnx")

    import torch

    for name, legacy in (("torch_storage_declared_huge", False), ("torch_legacy_storage_declared_huge", True)):
        d = _case_dir(root, name)   # a (32768, 32768) tensor on a storage said to hold 2^30 floats: 8 KB present
        torch.save({"w": torch.zeros(64, 32)}, d / "w.pt", _use_new_zipfile_serialization=not legacy)
        patch = [(b"M\x00\x08", b"J\x00\x00\x00\x40"),                  # storage numel 2048 -> 2^30
                 (b"K\x40K\x20\x86q\x08K\x20K\x01", b"M\x00\x80M\x00\x80\x86q\x08M\x00\x80K\x01")]
        if legacy:
            b = (d / "w.pt").read_bytes()
            for old, new in patch:
                assert old in b, (name, old)
                b = b.replace(old, new, 1)
            (d / "w.pt").write_bytes(b)
        else:
            z = zipfile.ZipFile(d / "w.pt")
            members = {n: z.read(n) for n in z.namelist()}
            pkl = next(n for n in members if n.endswith("data.pkl"))
            for old, new in patch:
                assert old in members[pkl], (name, old)
                members[pkl] = members[pkl].replace(old, new, 1)
            write_zip(d / "w.pt", members)
        add(name, d / "w.pt")

    def dag(depth):
        t = {"leaf.weight": torch.zeros(4, 4)}
        for _ in range(depth):
            t = {"a": t, "b": t}
        return t
    for name, zip_ in (("torch_shared_dict_dag", True), ("torch_shared_dict_dag_legacy", False)):
        d = _case_dir(root, name)   # 2^40 paths to one tensor in a 2 KB file: walked once per shared dict
        torch.save(dag(40), d / "w.pt", _use_new_zipfile_serialization=zip_)
        cases.append(Case(name, "memory", str(d / "w.pt"), ALL_RUNS, expect="either"))
    return cases


def _count(root: Path) -> list[Case]:
    import h5py

    cases = []

    def add(name, src, runs=READ_RUNS):
        cases.append(Case(name, "count", str(src), runs, expect="either"))

    for n in (20_000, 100_000):
        d = _case_dir(root, f"safetensors_{n}_empty")
        h = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(n)}
        h["w"] = {"dtype": "F32", "shape": [64, 32], "data_offsets": [0, 8192]}
        (d / "w.safetensors").write_bytes(safetensors_bytes(header=h, data=weights()["fc1.weight"].tobytes()))
        # extract writes ~7 HDF5 attributes per tensor (~1 ms): 100k tensors take ~100 s, so 20k only
        add(f"safetensors_{n}_empty", d / "w.safetensors", READ_RUNS if n <= 20_000 else READ_RUNS[:2])
    d = _case_dir(root, "safetensors_900k_empty")   # a 60 MB header of 900k entries: over MAX_TENSORS, refused
    h = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(900_000)}
    (d / "w.safetensors").write_bytes(safetensors_bytes(header=h))
    cases.append(Case("safetensors_900k_empty", "count", str(d / "w.safetensors"),
                      [["info", "{src}", "--no-values", "--no-hash"], ["scan", "{src}", "--no-progress"]],
                      says=("limit of 250,000",)))
    d = _case_dir(root, "npz_20k_members")
    buf = {f"t{i}.npy": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (0,)}, b"")
           for i in range(20_000)}
    write_zip(d / "w.npz", buf)
    add("npz_20k_members", d / "w.npz")
    d = _case_dir(root, "h5_20k_datasets")
    with h5py.File(d / "w.h5", "w") as f:
        for i in range(20_000):
            f.create_dataset(f"t{i}", (0,), "f4")
    add("h5_20k_datasets", d / "w.h5")
    return cases


def _malformed(root: Path) -> list[Case]:
    import torch

    cases = []

    def add(name, src, runs=ALL_RUNS, says=()):
        cases.append(Case(name, "malformed", str(src), runs, says=says))

    def st(name, **kw):
        d = _case_dir(root, name)
        (d / "w.safetensors").write_bytes(safetensors_bytes(**kw))
        add(name, d / "w.safetensors")

    st("safetensors_dtype_list", header={"w": {"dtype": ["F32"], "shape": [4], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_dtype_unknown", header={"w": {"dtype": "F99", "shape": [4], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_shape_strings", header={"w": {"dtype": "F32", "shape": ["4"], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_shape_float", header={"w": {"dtype": "F32", "shape": [4.5], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_shape_bool", header={"w": {"dtype": "F32", "shape": [True, 4], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_negative_dim", header={"w": {"dtype": "F32", "shape": [-4, -1], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_offsets_reversed", header={"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}},
       data=b"\0" * 16)
    st("safetensors_offsets_mismatch", header={"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}},
       data=b"\0" * 16)
    st("safetensors_offsets_overlap", header={"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                              "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    st("safetensors_entry_not_dict", header={"w": [1, 2, 3]}, data=b"")
    st("safetensors_header_list", raw_header=b"[1, 2, 3]")
    st("safetensors_nested_brackets", raw_header=b"[" * 100_000 + b"]" * 100_000)
    st("safetensors_nested_objects", raw_header=b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    st("safetensors_header_not_utf8", raw_header=b'{"\xff\xfe": 1}')
    st("safetensors_header_len_huge", raw_header=b"{}")
    p = root / "cases" / "safetensors_header_len_huge" / "w.safetensors"
    p.write_bytes(struct.pack("<Q", 1 << 62) + b"{}")
    st("safetensors_metadata_not_str", header={"__metadata__": {"a": {"b": 1}},
                                               "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
       data=b"\0" * 16)
    d = _case_dir(root, "safetensors_truncated")
    (d / "w.safetensors").write_bytes(safetensors_bytes(weights())[:-100])
    add("safetensors_truncated", d / "w.safetensors")

    d = _case_dir(root, "torch_self_referencing_dict")
    cyc: dict = {"w": torch.zeros(4, 4)}
    cyc["self"] = cyc
    torch.save({"state_dict": {"inner": cyc}}, d / "w.pt")
    cases.append(Case("torch_self_referencing_dict", "malformed", str(d / "w.pt"), ALL_RUNS, expect="either"))
    d = _case_dir(root, "torch_self_referencing_list")
    lst: list = [torch.zeros(4, 4)]
    lst.append(lst)
    torch.save({"w": torch.zeros(4, 4), "hist": lst}, d / "w.pt")
    cases.append(Case("torch_self_referencing_list", "malformed", str(d / "w.pt"), READ_RUNS, expect="either"))
    d = _case_dir(root, "pickle_deep_nesting")   # 100k nested lists in a plain pickle (RecursionError in load)
    (d / "w.pt").write_bytes(b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".")
    add("pickle_deep_nesting", d / "w.pt")
    d = _case_dir(root, "torch_zip_truncated")
    torch.save({"w": torch.zeros(64, 64)}, d / "full.pt")
    (d / "w.pt").write_bytes((d / "full.pt").read_bytes()[:-300])
    (d / "full.pt").unlink()
    add("torch_zip_truncated", d / "w.pt")
    d = _case_dir(root, "torch_legacy_truncated")
    torch.save({"w": torch.zeros(64, 64)}, d / "full.pt", _use_new_zipfile_serialization=False)
    (d / "w.pt").write_bytes((d / "full.pt").read_bytes()[:-300])
    (d / "full.pt").unlink()
    add("torch_legacy_truncated", d / "w.pt")

    d = _case_dir(root, "onnx_negative_dims")
    onnx_model([onnx_raw("w", [-5, 4], b"\0" * 80)], d / "m.onnx")
    add("onnx_negative_dims", d / "m.onnx", says=("negative",))
    d = _case_dir(root, "onnx_raw_size_mismatch")
    onnx_model([onnx_raw("w", [32, 64], b"\0" * 80)], d / "m.onnx")
    add("onnx_raw_size_mismatch", d / "m.onnx")
    d = _case_dir(root, "onnx_not_protobuf")
    (d / "m.onnx").write_bytes(b"\x0a\xff\xff\xff\xff\x0f" + os.urandom(64))
    add("onnx_not_protobuf", d / "m.onnx")

    d = _case_dir(root, "npz_structured_dtype")
    np.savez(d / "w.npz", w=np.zeros(8, dtype=[("a", "<f4"), ("b", "<i4")]))
    add("npz_structured_dtype", d / "w.npz", says=("dtype",))
    d = _case_dir(root, "npz_bad_header")
    write_zip(d / "w.npz", {"w.npy": b"\x93NUMPY\x01\x00" + struct.pack("<H", 16) + b"{'descr': __imp"})
    add("npz_bad_header", d / "w.npz")
    d = _case_dir(root, "npz_not_zip")
    (d / "w.npz").write_bytes(b"PK\x03\x04" + os.urandom(100))
    add("npz_not_zip", d / "w.npz")

    import h5py

    d = _case_dir(root, "h5_truncated")
    with h5py.File(d / "full.h5", "w") as f:
        f["w"] = np.ones((64, 64), "f4")
    (d / "w.h5").write_bytes((d / "full.h5").read_bytes()[:1500])
    (d / "full.h5").unlink()
    add("h5_truncated", d / "w.h5")
    d = _case_dir(root, "keras_zip_not_h5")
    write_zip(d / "m.keras", {"config.json": "{", "model.weights.h5": b"not hdf5"})
    add("keras_zip_not_h5", d / "m.keras", READ_RUNS)
    d = _case_dir(root, "index_not_json")
    (d / "model.safetensors.index.json").write_text("{" * 50_000)
    add("index_not_json", d / "model.safetensors.index.json", READ_RUNS)
    d = _case_dir(root, "index_weight_map_list")
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": [["a", "b"]]}))
    add("index_weight_map_list", d / "model.safetensors.index.json", READ_RUNS)
    return cases


def _code(root: Path) -> list[Case]:
    import torch

    cases = []
    marker = root / "marker"

    for kind, obj in payloads(marker).items():
        d = _case_dir(root, f"torch_zip_{kind}")
        torch.save({"w": torch.zeros(4, 4), "x": obj}, d / "w.pt")
        cases.append(Case(f"torch_zip_{kind}", "code", str(d / "w.pt"), ALL_RUNS, says=("--trust-pickle",),
                          forbid=("add_safe_globals", "allow-list", "safe_globals")))
        d = _case_dir(root, f"torch_legacy_{kind}")
        torch.save({"w": torch.zeros(4, 4), "x": obj}, d / "w.pth", _use_new_zipfile_serialization=False)
        cases.append(Case(f"torch_legacy_{kind}", "code", str(d / "w.pth"), ALL_RUNS, says=("--trust-pickle",),
                          forbid=("add_safe_globals", "safe_globals")))
        d = _case_dir(root, f"plain_pickle_{kind}")
        (d / "w.ckpt").write_bytes(pickle.dumps({"state_dict": {"w": np.zeros(4)}, "cb": obj}, protocol=2))
        cases.append(Case(f"plain_pickle_{kind}", "code", str(d / "w.ckpt"), READ_RUNS,
                          forbid=("add_safe_globals", "safe_globals")))
        d = _case_dir(root, f"npz_object_{kind}")
        arr = np.empty(1, dtype=object)
        arr[0] = obj
        np.savez(d / "w.npz", w=np.zeros(4, "f4"), x=arr)
        cases.append(Case(f"npz_object_{kind}", "code", str(d / "w.npz"), READ_RUNS, expect="either"))

    # a TorchScript archive whose data.pkl carries the payload
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(x)

    d = _case_dir(root, "torchscript_payload")
    torch.jit.save(torch.jit.script(M()), d / "m.pt")
    z = zipfile.ZipFile(d / "m.pt")
    members = {n: z.read(n) for n in z.namelist()}
    pk = next(n for n in members if n.endswith("/data.pkl"))
    members[pk] = pickle.dumps(payloads(marker)["os_system"], protocol=2)
    write_zip(d / "m.pt", members)
    cases.append(Case("torchscript_payload", "code", str(d / "m.pt"), READ_RUNS,
                      forbid=("add_safe_globals", "safe_globals")))
    cases.append(Case("torchscript_payload_trusted", "code", str(d / "m.pt"), [["info", "{src}", "--trust-pickle"]],
                      expect="either", says=("runs any code",)))
    # a Lightning-style .ckpt: zip torch file with the payload in hyper_parameters
    d = _case_dir(root, "lightning_ckpt_payload")
    torch.save({"state_dict": {"model.w": torch.zeros(4, 4)}, "hyper_parameters": {"f": payloads(marker)["exec"]}},
               d / "m.ckpt")
    cases.append(Case("lightning_ckpt_payload", "code", str(d / "m.ckpt"), ALL_RUNS, says=("--trust-pickle",)))
    return cases


def _valid(root: Path) -> list[Case]:
    cases = []
    d = _case_dir(root, "all_nan_weight")
    w = weights()
    w["fc2.weight"] = np.full((10, 64), np.nan, "float32")
    (d / "w.safetensors").write_bytes(safetensors_bytes(w))
    cases.append(Case("all_nan_weight", "valid", str(d / "w.safetensors"), [["scan", "{src}", "--no-progress"]],
                      expect="ok", says=("1 tensor(s) entirely NaN/Inf (fc2.weight)",)))
    d = _case_dir(root, "plain_weights")
    (d / "w.safetensors").write_bytes(safetensors_bytes(weights()))
    cases.append(Case("plain_weights", "valid", str(d / "w.safetensors"), ALL_RUNS, expect="ok"))
    d = _case_dir(root, "hf_folder_inside_index")   # a legitimate sharded folder: shards inside are read
    (d / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (d / "a.safetensors").write_bytes(safetensors_bytes({"fc1.weight": weights()["fc1.weight"]}))
    (d / "sub").mkdir()
    (d / "sub" / "b.safetensors").write_bytes(safetensors_bytes({"fc2.weight": weights()["fc2.weight"]}))
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"fc1.weight": "a.safetensors", "fc2.weight": "sub/b.safetensors"}}))
    cases.append(Case("hf_folder_inside_index", "valid", str(d), READ_RUNS, expect="ok"))
    import h5py

    d = _case_dir(root, "h5_external_inside_allowed")   # --allow-external: references inside the folder are read
    raw = weights()["fc1.weight"]
    (d / "w.raw").write_bytes(raw.tobytes())
    with h5py.File(d / "w.h5", "w") as f:
        f.create_dataset("fc1.weight", raw.shape, "f4", external=[(str(d / "w.raw"), 0, raw.nbytes)])
        lay = h5py.VirtualLayout(shape=raw.shape, dtype="f4")
        lay[:] = h5py.VirtualSource(str(d / "w.h5"), "fc1.weight", shape=raw.shape)
        f.create_virtual_dataset("fc1v.weight", lay)
    cases.append(Case("h5_external_inside_allowed", "valid", str(d / "w.h5"),
                      [r + ["--allow-external"] for r in READ_RUNS], expect="ok"))
    d = _case_dir(root, "onnx_external_inside")
    (d / "w.bin").write_bytes(weights()["fc1.weight"].T.copy().tobytes())
    onnx_model([onnx_external("w", "w.bin", (32, 64))], d / "m.onnx")
    cases.append(Case("onnx_external_inside", "valid", str(d / "m.onnx"), READ_RUNS, expect="ok"))
    return cases


BUILDERS = {"outside": _outside, "memory": _memory, "count": _count, "malformed": _malformed, "code": _code,
            "valid": _valid}


def build(family: str, root: Path) -> list[Case]:
    root = Path(root)
    outside(root)
    return BUILDERS[family](root)


if __name__ == "__main__":   # python tests/hostile/generate.py FAMILY DIR: build and list a family
    import sys

    for c in build(sys.argv[1], Path(sys.argv[2])):
        print(c.name, c.src)
