"""safetensors files, read tensor by tensor (the index of sharded ones: readers/index.py).

The header (8-byte little-endian length + JSON) is parsed and validated here, so a truncated or corrupt
file fails with one line before anything is read. Order = data-offset order in the file (the order the
writer stored the tensors), not the header's alphabetical key order; when that order is just the
safetensors writer's own sort, natural name order instead (see ``tensor_order``). Values are read
one tensor per call with ``np.fromfile`` at the validated offset (no torch import; bf16 as raw uint16
bits); ``safe_open`` only validates the header once.
"""
from __future__ import annotations

import json
import math
import re
import struct
import sys
from pathlib import Path

from ...errors import ParamstatError
from ...formats import ST_EXT
from ..build import Entry
from ..confine import inside
from ..detect import is_safetensors
from ..limits import check_count
from ..registry import register_reader

# safetensors dtype -> (paramstat dtype name, item size, little-endian numpy dtype of the stored bytes: bf16
# and fp8 as their raw bits, as paramstat.dtypes keeps them)
ST_DTYPES = {
    "F64": ("float64", 8, "<f8"), "F32": ("float32", 4, "<f4"), "F16": ("float16", 2, "<f2"),
    "BF16": ("bfloat16", 2, "<u2"), "I64": ("int64", 8, "<i8"), "I32": ("int32", 4, "<i4"),
    "I16": ("int16", 2, "<i2"), "I8": ("int8", 1, "i1"), "U8": ("uint8", 1, "u1"), "U16": ("uint16", 2, "<u2"),
    "U32": ("uint32", 4, "<u4"), "U64": ("uint64", 8, "<u8"), "BOOL": ("bool", 1, "?"),
    "F8_E4M3": ("float8_e4m3fn", 1, "u1"), "F8_E5M2": ("float8_e5m2", 1, "u1"),
}
MAX_HEADER = 100 * 1024 * 1024
HINT = "the file is truncated or not a safetensors file: re-download it or check that the copy finished"


def read_header(path: str | Path) -> tuple[dict, dict, int]:
    """(tensors {name: {dtype, shape, data_offsets}}, __metadata__, byte offset of the data) after validating
    sizes and offsets."""
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ParamstatError(f"not a safetensors file ({size} bytes, no header)", path=str(p), hint=HINT)
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or 8 + n > size:
            raise ParamstatError(f"corrupt safetensors header (claims {n} header bytes, file has {size})",
                                 path=str(p), hint=HINT)
        raw = f.read(n)
    try:
        hdr = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParamstatError(f"corrupt safetensors header ({e.__class__.__name__})", path=str(p), hint=HINT) from e
    except RecursionError as e:
        raise ParamstatError("corrupt safetensors header (JSON nested too deeply)", path=str(p), hint=HINT) from e
    if not isinstance(hdr, dict):
        raise ParamstatError("corrupt safetensors header (not a JSON object)", path=str(p), hint=HINT)
    meta = hdr.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise ParamstatError("corrupt safetensors header (__metadata__ is not an object)", path=str(p), hint=HINT)
    check_count(len(hdr), str(p))
    body = size - 8 - n
    for name, info in hdr.items():
        try:
            dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError) as err:
            raise ParamstatError(f"corrupt safetensors header entry {_short(name)!r}", path=str(p), hint=HINT) from err
        if not isinstance(dt, str) or not isinstance(shape, list) or \
                not all(type(x) is int and x >= 0 for x in shape) or \
                not all(type(x) is int for x in (b, e)):
            raise ParamstatError(f"corrupt safetensors header entry {_short(name)!r} (dtype must be a string, "
                                 "shape and data_offsets non-negative integers)", path=str(p), hint=HINT)
        if dt not in ST_DTYPES:
            raise ParamstatError(f"unsupported safetensors dtype {_short(dt)} for {_short(name)!r}", path=str(p),
                                 hint="paramstat reads F64/F32/F16/BF16/F8 and integer tensors")
        numel = 1
        for s in shape:
            numel *= s
        if e > body or b > e:
            raise ParamstatError(f"truncated safetensors file: tensor {_short(name)!r} ends at byte {8 + n + e}, "
                                 f"file has {size}", path=str(p), hint=HINT)
        if e - b != numel * ST_DTYPES[dt][1] or b < 0:
            raise ParamstatError(f"corrupt safetensors header: tensor {_short(name)!r} has {e - b} bytes for shape "
                                 f"{shape} {dt}", path=str(p), hint=HINT)
    return hdr, meta, 8 + n


def _short(s, n: int = 60) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 3] + "..."


def _reader(path: str, info: dict, data_start: int):
    """Read one tensor's bytes straight from the file with numpy (one tensor in memory at a time, no torch
    import): offsets were validated by read_header."""
    shape = tuple(int(s) for s in info["shape"])
    begin, _end = (int(x) for x in info["data_offsets"])
    raw = ST_DTYPES[info["dtype"]][2]
    bf16 = info["dtype"] == "BF16"

    def read(widen: bool = False):
        import numpy as np

        if widen and bf16 and sys.byteorder == "little":
            from ...stats.floatpass import high_bits
            from ..onepass import read_widened

            with open(path, "rb") as f:
                f.seek(data_start + begin)
                return high_bits(read_widened(f, math.prod(shape))).reshape(shape)
        return np.fromfile(path, dtype=raw, count=math.prod(shape), offset=data_start + begin).reshape(shape)
    read.widens = True
    return read


LEAF_RANK = {"weight": 0, "bias": 1, "running_mean": 2, "running_var": 3, "num_batches_tracked": 4}


def natural_key(name: str) -> tuple:
    """'blocks.10.x' after 'blocks.2.x' (digit runs compare as integers); within one module the
    state-dict order weight, bias, running_mean, running_var, num_batches_tracked."""
    parent, _, leaf = name.rpartition(".")

    def nat(s):
        return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t)

    return nat(parent), LEAF_RANK.get(leaf, 5), nat(leaf)


def tensor_order(hdr: dict) -> tuple[list[str], str]:
    """(names in network order, 'stored' or 'natural').

    The data-offset order is the order the writer stored the tensors. safetensors' own writer
    (``save_file``) sorts by (dtype alignment descending, name) and so loses the module order; when the
    offset order is exactly that sort it carries no information and the names are natural-sorted instead."""
    stored = sorted(hdr, key=lambda k: (hdr[k]["data_offsets"][0], hdr[k]["data_offsets"][1], k))
    writer_sorted = sorted(hdr, key=lambda k: (-ST_DTYPES[hdr[k]["dtype"]][1], k))
    if len(stored) > 1 and stored == writer_sorted:
        return sorted(hdr, key=natural_key), "natural"
    return stored, "stored"


def entries_from_file(path: str | Path, digest=None) -> tuple[list[Entry], dict]:
    """Entries in network order (``tensor_order``); with ``digest`` (a sources.onepass.FileDigest of this
    file) the readers feed it, so reading in data-offset order also hashes the file."""
    hdr, meta, data_start = read_header(path)
    p = str(path)
    try:  # let the library validate too (cheap: header only)
        from safetensors import safe_open

        with safe_open(p, framework="np") as f:
            f.keys()
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise ParamstatError(f"safetensors refused the file ({str(e).splitlines()[0][:120]})", path=p,
                             hint=HINT) from e
    order, how = tensor_order(hdr)
    meta = dict(meta)
    meta["paramstat_order"] = how
    def reader(info):
        if digest is None:
            return _reader(p, info, data_start)
        return digest.reader(data_start + int(info["data_offsets"][0]), math.prod(info["shape"]),
                             ST_DTYPES[info["dtype"]][2], info["shape"], bf16=info["dtype"] == "BF16")
    out = [Entry(k, tuple(int(s) for s in hdr[k]["shape"]), ST_DTYPES[hdr[k]["dtype"]][0],
                 reader(hdr[k])) for k in order]
    return out, meta


def byte_order(ckpt, hdr: dict) -> list[int]:
    """Record indices of ``ckpt`` in data-offset order of the file (the order of one sequential pass)."""
    return sorted(range(len(ckpt.records)), key=lambda i: hdr[ckpt.records[i].stored_name]["data_offsets"][0])


def read_index(index_path: str | Path) -> tuple[list[Path], dict]:
    """Shard files in first-appearance order of a ``model.safetensors.index.json``, and its metadata."""
    ip = Path(index_path)
    try:
        idx = json.loads(ip.read_text())
        wm = idx["weight_map"]
        if not isinstance(wm, dict):
            raise TypeError("weight_map is not an object")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, RecursionError) as e:
        why = "nested too deeply" if isinstance(e, RecursionError) else f"{e.__class__.__name__}: {_short(e, 100)}"
        raise ParamstatError(f"corrupt safetensors index ({why})", path=str(ip),
                             hint="the index must be JSON with a 'weight_map' object") from e
    shards = list(dict.fromkeys(wm.values()))
    paths = []
    for sh in sorted(shards, key=str):
        sp = inside(ip.parent, sh, "a shard named in the index", str(ip))
        if not sp.is_file():
            raise ParamstatError(f"shard listed in the index is missing: {_short(sh)}", path=str(ip),
                                 hint="download every shard next to the index")
        paths.append(sp)
    return paths, {"weight_map": wm, "metadata": idx.get("metadata") or {}}


@register_reader("safetensors", extensions=ST_EXT, sniff=is_safetensors, sniff_order=60)
def read(p: Path, s: str, ctx):
    """A ``.safetensors`` file, tensor by tensor; its metadata kept in the provenance."""
    from ..build import build, file_provenance

    digest = None
    if ctx.hash == "deferred":  # one pass (sources/onepass.py): sha256 from the reads in byte order
        from ..onepass import FileDigest

        hdr, _, data_start = read_header(p)
        digest = FileDigest(p, [(data_start + i["data_offsets"][0], data_start + i["data_offsets"][1])
                                for i in hdr.values()])
    entries, meta = entries_from_file(p, digest)
    prov = dict(ctx.prov)
    prov.update(file_provenance(p, bool(ctx.hash) and digest is None))
    prov["order"] = meta.pop("paramstat_order")
    if meta:
        prov["safetensors_metadata"] = meta
    ck = build(entries, source=s, format="safetensors", provenance=prov, warnings=list(ctx.warnings),
               roles=ctx.roles, order=ctx.order, path=s)
    if digest is not None:
        ck.digest, ck.byte_order = digest, byte_order(ck, hdr)
    return ck
