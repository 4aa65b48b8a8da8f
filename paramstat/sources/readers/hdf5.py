"""HDF5 files: paramstat's own store (records round-trip bit-exactly, roles and fans kept) or any other
HDF5 file (every numeric dataset becomes a tensor named by its path with '/' -> '.', roles inferred from
names and shapes). Keras files (legacy ``model.save('x.h5')`` / ``save_weights``, Keras 3 ``.weights.h5``)
go to readers/keras (kernels transposed to PyTorch layout, Keras fans,
optimizer state skipped)."""
from __future__ import annotations

import json
from pathlib import Path

from ...errors import ParamstatError
from ...formats import H5_EXT
from ..build import Entry
from ..confine import check_h5, h5_dataset
from ..detect import is_hdf5, is_keras_h5
from ..h5guard import corrupt_guard
from ..limits import current
from ..registry import register_reader

HINT = ("the file is truncated or not an HDF5 file: re-download or re-save it (paramstat's own .h5: re-create "
        "it with 'paramstat extract')")
TRUNCATED_HINT = "the file is truncated: re-download it or check that the copy finished"


def _open(path: str):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as e:
        first = (str(e).splitlines() or [""])[0][:140]
        raise ParamstatError(f"cannot open as HDF5 ({first})", path=path,
                             hint=TRUNCATED_HINT if "truncated file" in first else HINT) from e


def _reader(path: str, hpath: str):
    allow = current().allow_external

    def read():
        with _open(path) as f:
            return h5_dataset(f, hpath, path, allow)[()]
    return read


def load_h5(path: str | Path):
    """(entries, role infos or None, provenance, warnings)."""
    import h5py

    from ..roles import RoleInfo

    p = str(path)
    found: list[tuple[int, str, dict]] = []
    with _open(p) as f, corrupt_guard(p, "HDF5 file", HINT):
        check_h5(f, p)
        ours = f.attrs.get("paramstat_format") == "paramstat-h5"
        prov = {}
        warnings: list[str] = []
        if ours:
            try:
                prov = json.loads(f.attrs.get("provenance", "{}"))
                warnings = list(json.loads(f.attrs.get("warnings", "[]")))
            except json.JSONDecodeError:
                warnings.append("provenance attribute unreadable")

        def visit(name, obj):
            if name.startswith("_stats/") or not isinstance(obj, h5py.Dataset):
                return
            if obj.dtype.kind not in "fiub":
                return
            attrs = {k: obj.attrs[k] for k in obj.attrs}
            found.append((len(found), name, attrs))

        f.visititems(visit)
        shapes = {}
        dtypes = {}
        for _, name, _a in found:
            ds = f[name]
            shapes[name], dtypes[name] = tuple(ds.shape), str(ds.dtype)
    if ours:
        found.sort(key=lambda t: (int(t[2].get("depth", t[0])), t[0]))
    entries: list[Entry] = []
    infos: dict[str, RoleInfo] = {}
    for _, hname, a in found:
        name = str(a.get("name", hname.replace("/", ".")))
        stored = str(a.get("stored_name", name)) if ours else name
        dtype = str(a.get("paramstat_dtype", a.get("dtype", dtypes[hname]))) if ours else dtypes[hname]
        entries.append(Entry(stored, shapes[hname], dtype, _reader(p, hname), name))
        if ours and "role" in a:
            fi, fo, g, hs = (int(a[k]) if k in a else None for k in ("fan_in", "fan_out", "groups", "hidden_size"))
            infos[name] = RoleInfo(str(a["role"]), fi, fo, g,
                                   str(a["module_type"]) if "module_type" in a else None, hs)
    return entries, (infos if ours else None), prov, warnings, ours


@register_reader("h5", extensions=H5_EXT, sniff=is_hdf5, sniff_order=10)
def read(p: Path, s: str, ctx):
    """An HDF5 file: Keras layout -> the Keras reader (format 'keras-h5'); paramstat's own store (its stored
    roles, unless an architecture's) or any other HDF5 (numeric datasets, roles from names and shapes)."""
    from ..build import build, file_provenance

    prov = dict(ctx.prov)
    if is_keras_h5(p):
        from .keras.reader import load_keras

        prov.update(file_provenance(p, ctx.hash))
        return load_keras(p, source=s, provenance=prov, warnings=list(ctx.warnings), zipped=False)
    entries, infos, hprov, w, _ours = load_h5(p)
    prov.update(file_provenance(p, ctx.hash))
    if hprov:
        prov["extracted_from"] = hprov
        for k in ("arch", "pretrained", "fresh", "seed"):
            if k in hprov:
                prov.setdefault(k, hprov[k])
    return build(entries, source=s, format="h5", provenance=prov, warnings=list(ctx.warnings) + w,
                 roles=ctx.roles if ctx.roles is not None else infos, order=ctx.order, path=s)
