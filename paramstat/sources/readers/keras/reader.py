"""Keras / TensorFlow checkpoints: legacy HDF5 (Keras 2 / tf.keras ``model.save('x.h5')`` and
``save_weights('x.h5')``), Keras 3 ``.weights.h5`` and ``.keras`` zip archives. Data only: JSON configs and
numeric HDF5 datasets are read, no code is run (no ``keras.models.load_model``).

Layouts (checked against keras 3.15 with the torch backend and a Keras 2.9 / TF full-model save):
- legacy: weights under ``model_weights/`` (full model: root attrs ``keras_version``, ``backend``,
  ``model_config``) or at the root (weights only); network order from the ``layer_names`` attribute, each
  layer's tensors from its ``weight_names`` attribute (order kept; attributes split as ``layer_names0``,
  ``layer_names1`` ... are joined). A weight ``conv2d/kernel:0`` of layer ``conv2d`` is stored at
  ``model_weights/conv2d/conv2d/kernel:0`` and named ``conv2d.kernel``: the ``:0`` suffix and the weight
  path up to the layer's own name are dropped (Keras 3 writes ``seq/c1/kernel`` for layer ``c1``); a
  nested model ``inner`` keeps its inner layer names (``inner.dense_3.kernel``).
- Keras 3 ``.weights.h5``: ``layers/<snake_case class>[_n]/vars/<i>``, nested containers as
  ``.../layers/...``, sub-objects by attribute (``lstm/cell/vars``, ``bidirectional/forward_layer``); the
  ``vars`` group's ``name`` attribute is the layer's name. Variable names come from the layer class
  (``Dense``: kernel, bias; ``BatchNormalization``: gamma, beta, moving_mean, moving_variance ...,
  optional ones per ``use_bias`` / ``scale`` / ``center``). Order: the config's layer order when a config is
  known (``.keras``), else the file offset of each layer's data (HDF5 lists groups alphabetically).
- ``.keras``: a zip with ``config.json`` and ``model.weights.h5``; the h5 is read in place (stored member)
  or from memory (deflated), never extracted or executed.
Layer types from the config's ``class_name`` (wrappers such as Bidirectional give their wrapped class),
else from the layer's snake_case name (``conv2d_transpose_1`` -> Conv2DTranspose), else from the weight's
name and shape.

Kernels are shown in PyTorch layout (the reader returns the transposed contiguous array):
Dense / RNN kernel (in, out) -> (out, in); ConvND (*k, in/groups, out) -> (out, in/groups, *k);
ConvNDTranspose (*k, out, in) -> PyTorch's ConvTranspose layout (in, out, *k); DepthwiseConv (*k, in, mult)
-> (in*mult, 1, *k) with groups = in (output channel c*mult + m, as in both frameworks); SeparableConv =
that depthwise kernel + a pointwise conv. Fans are then torch's from the shown shape, which for these kernels
equal Keras' own (``glorot_uniform`` bound sqrt(6/(fan_in+fan_out)) = paramstat's ``xavier_uniform``),
except depthwise kernels (Keras: fan_in = k*in, fan_out = k*mult). A bias gets its layer's kernel fans.
Optimizer state (``optimizer_weights/``, Keras 3 ``optimizer/``) is skipped and counted in one warning.
"""
from __future__ import annotations

import json
import re
import zipfile

import numpy as np

from ....errors import ParamstatError
from ....formats import KERAS_EXT
from ...build import Entry, build
from ...confine import check_h5, h5_dataset
from ...detect import has_list_attr, is_keras_zip, keras_h5_layout
from ...h5guard import corrupt_guard
from ...limits import check_bytes, current
from ...registry import register_reader
from ...roles import RoleInfo
from .archive import HINT, KerasData
from .classes import LEGACY_LEAF, VARS, _class_of, _json_attr, _list_attr, config_layers
from .roles import _layer_infos

LAYOUT_WARNING = "Keras kernels shown in PyTorch layout (out, in, *k)"

# ------------------------------------------------------------------------------------------------ readers

def _reader(src: KerasData, hpath: str, fn):
    allow = current().allow_external

    def read():
        with src.open() as f:
            a = h5_dataset(f, hpath, src.path, allow)[()]
        a = np.asarray(a)
        return fn(a) if fn is not None else a
    return read


def _drop_suffix(s: str) -> str:
    return re.sub(r":\d+$", "", s)


def _legacy_items(f, layout: str, cfg: dict) -> list[tuple[str, list[tuple[str, str, list[str]]]]]:
    """[(layer, [(hdf5 path, canonical name, path segments below the layer)])] in network order."""
    import h5py

    root = f["model_weights"] if layout == "legacy-model" else f
    prefix = "model_weights/" if layout == "legacy-model" else ""
    names = _list_attr(root.attrs, "layer_names")
    if "top_level_model_weights" in root and "top_level_model_weights" not in names:
        names.append("top_level_model_weights")
    out = []
    for layer in names:
        g = root.get(layer)
        if not isinstance(g, h5py.Group):
            continue
        wn = _list_attr(g.attrs, "weight_names") if has_list_attr(g.attrs, "weight_names") else None
        if wn is None:  # no weight_names (very old files): the datasets in file order
            found: list[str] = []
            g.visititems(lambda n, o, found=found: found.append(n) if isinstance(o, h5py.Dataset) else None)
            wn = found
        items = []
        for w in wn:
            segs = [s for s in _drop_suffix(w).split("/") if s]
            if layer in segs[:-1]:
                segs = segs[segs.index(layer) + 1:]
            if len(segs) == 1 and segs[0].startswith(layer + "_"):  # Keras 1: 'dense_1_W'
                segs = [segs[0][len(layer) + 1:]]
            segs[-1] = LEGACY_LEAF.get(segs[-1], segs[-1])
            items.append((f"{prefix}{layer}/{w}", ".".join([layer] + segs), [layer] + segs))
        out.append((layer, items))
    return out


def _keras3_items(f, cfg: dict) -> tuple[list, bool]:
    """[(class, config, [(hdf5 path, canonical name, leaf)])] per object with variables; True when the
    order came from the config (else from the data's file offsets)."""
    import h5py

    def offset(g) -> float:
        best = float("inf")

        def v(_n, o):
            nonlocal best
            if isinstance(o, h5py.Dataset):
                off = o.id.get_offset()
                if off is not None:
                    best = min(best, off)
        g.visititems(v)
        return best

    def own_name(g, key):
        v = g.get("vars")
        n = v.attrs.get("name") if isinstance(v, h5py.Group) else None
        if isinstance(n, bytes):
            n = n.decode("utf8")
        return str(n) if n is not None else key

    used_cfg = [False]
    out = []

    def children(g):
        kids = []
        for key in g:
            if key in ("vars", "optimizer") or not isinstance(g[key], h5py.Group):
                continue
            if key == "layers":
                kids += [(k, g["layers"][k]) for k in g["layers"] if isinstance(g["layers"][k], h5py.Group)]
            else:
                kids.append((key, g[key]))

        def order(kv):
            pos = cfg.get(own_name(kv[1], kv[0]), (None,))[0]
            if pos is not None:
                used_cfg[0] = True
            return (pos if pos is not None else float("inf"), offset(kv[1]))
        return sorted(kids, key=order)

    def visit(g, key, names, keys):
        name = own_name(g, key)
        path, kpath = names + [name], keys + [key]
        cls, c = _class_of(cfg, path, kpath)
        v = g.get("vars")
        if isinstance(v, h5py.Group):
            ds = sorted((k for k in v if isinstance(v[k], h5py.Dataset)), key=lambda k: (len(k), k))
            if ds:
                leaves = _var_names(cls, c, len(ds))
                items = [(f"{v.name.lstrip('/')}/{k}", ".".join(path + [leaf]), leaf) for k, leaf in zip(ds, leaves)]
                out.append((cls, c, items))
        for k, sub in children(g):
            visit(sub, k, path, kpath)

    for k, sub in children(f):
        visit(sub, k, [], [])
    if isinstance(f.get("vars"), h5py.Group) and len(f["vars"]):  # the model's own variables
        v = f["vars"]
        ds = sorted((k for k in v if isinstance(v[k], h5py.Dataset)), key=lambda k: (len(k), k))
        out.append((None, {}, [(f"vars/{k}", f"vars.{k}", k) for k in ds]))
    return out, used_cfg[0]


def _var_names(cls: str | None, cfg: dict, n: int) -> list[str]:
    """Keras 3 variable names of a layer with ``n`` variables (optional ones per the config, else dropped
    from the end until the count fits); the indices when the class is unknown or nothing fits."""
    spec = VARS.get(cls or "")
    if spec:
        if cfg:
            names = [v for v, flag in spec if flag is None or cfg.get(flag, True)]
            if len(names) == n:
                return names
        names = [v for v, _ in spec]
        optional = [v for v, flag in spec if flag is not None]
        while len(names) > n and optional:
            names.remove(optional.pop())
        if len(names) == n:
            return names
    return [str(i) for i in range(n)]



# ------------------------------------------------------------------------------------------------ loading

def _optimizer_state(f, layout: str) -> tuple[int, str | None, str | None]:
    """(number of optimizer tensors, optimizer name, group) — skipped, never read as weights."""
    import h5py

    grp = "optimizer_weights" if layout.startswith("legacy") else "optimizer"
    g = f.get(grp)
    if not isinstance(g, h5py.Group):
        return 0, None, None
    n = [0]
    g.visititems(lambda _n, o: n.__setitem__(0, n[0] + 1) if isinstance(o, h5py.Dataset) else None)
    if layout.startswith("legacy"):
        subs = [k for k in g if isinstance(g[k], h5py.Group)]
        name = subs[0] if len(subs) == 1 else None
        if name is None:
            wn = _list_attr(g.attrs, "weight_names") if has_list_attr(g.attrs, "weight_names") else []
            name = wn[0].split("/")[0] if wn and "/" in wn[0] else None
    else:
        v = g.get("vars")
        name = v.attrs.get("name") if isinstance(v, h5py.Group) else None
        name = name.decode("utf8") if isinstance(name, bytes) else name
    return n[0], (str(name) if name else None), grp


def _objects(f, layout: str, cfg: dict) -> tuple[list, str | None]:
    """[(class, config, [(hdf5 path, canonical name, leaf)])] in network order, and an order warning."""
    if layout == "keras3":
        objs, from_cfg = _keras3_items(f, cfg)
        note = None if from_cfg or len(objs) < 2 else \
            "no Keras config: layer order taken from where each layer's data lies in the file"
        return objs, note
    objs: list = []
    for _layer, items in _legacy_items(f, layout, cfg):
        groups: dict[tuple, list] = {}
        for hpath, name, segs in items:
            groups.setdefault(tuple(segs[:-1]), []).append((hpath, name, segs[-1]))
        for key, its in groups.items():
            cls, c = _class_of(cfg, list(key), list(key))
            objs.append((cls, c, its))
    return objs, None


def load_keras(path, *, source: str, provenance: dict | None = None, warnings: list[str] | None = None,
               zipped: bool = False):
    """Checkpoint (format 'keras' for a ``.keras`` zip, 'keras-h5' for an HDF5 file); see the module doc."""
    import h5py

    p = str(path)
    prov = dict(provenance or {})
    warnings = list(warnings or [])
    cfg_json = None
    if zipped:
        if not is_keras_zip(p):
            raise ParamstatError("not a Keras archive (no config.json + model.weights.h5)", path=p, hint=HINT)
        with zipfile.ZipFile(p) as z:
            for member, key in (("config.json", "cfg"), ("metadata.json", "meta")):
                if member not in z.namelist():
                    continue
                check_bytes(z.getinfo(member).file_size, f"archive member {member} (decompressed)", p)
                try:
                    obj = json.loads(z.read(member).decode("utf8"))
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                    warnings.append(f"{member} in the archive is unreadable")
                    continue
                if key == "cfg":
                    cfg_json = obj
                elif isinstance(obj, dict) and "keras_version" in obj:
                    prov["keras_version"] = str(obj["keras_version"])
    src = KerasData(p, "model.weights.h5" if zipped else None)
    entries: list[Entry] = []
    infos: list[RoleInfo] = []
    transposed = 0
    with src.open() as f, corrupt_guard(p, "Keras HDF5 file", HINT):
        check_h5(f, p)
        layout = keras_h5_layout(f)
        if layout is None:
            raise ParamstatError("not a Keras weights file (no layer_names, model_weights or layers/vars)",
                                 path=p, hint="paramstat reads Keras HDF5 / .keras files and its own .h5")
        if layout.startswith("legacy"):
            cfg_json = _json_attr(f.attrs, "model_config")
            for a in (f.attrs, f["model_weights"].attrs if layout == "legacy-model" else {}):
                for k in ("keras_version", "backend"):
                    if k in a and k not in prov:
                        v = a[k]
                        prov[k] = v.decode("utf8") if isinstance(v, bytes) else str(v)
        prov["keras_layout"] = {"legacy-model": "legacy HDF5 full model", "legacy-weights": "legacy HDF5 weights",
                                "keras3": "Keras 3 .keras" if zipped else "Keras 3 .weights.h5"}[layout]
        if isinstance(cfg_json, dict):
            prov["keras_model"] = {"class_name": cfg_json.get("class_name"),
                                   "name": (cfg_json.get("config") or {}).get("name")
                                   if isinstance(cfg_json.get("config"), dict) else None}
        try:
            cfg = config_layers(cfg_json) if cfg_json else {}
        except RecursionError as e:
            raise ParamstatError("Keras config nested too deeply", path=p, hint=HINT) from e
        objs, note = _objects(f, layout, cfg)
        if note:
            warnings.append(note)
        skipped = []
        for cls, c, items in objs:
            keep = []
            for hpath, name, leaf in items:
                ds = f.get(hpath)
                if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiub":
                    skipped.append(hpath)
                    continue
                keep.append((hpath, name, leaf, tuple(int(s) for s in ds.shape), ds.dtype.name))
            if not keep:
                continue
            per = _layer_infos(cls, c, [k[2] for k in keep], [k[3] for k in keep])
            for (hpath, name, _leaf, _shape, dtype), (info, shown, fn) in zip(keep, per):
                transposed += fn is not None
                entries.append(Entry(hpath, tuple(shown), dtype, _reader(src, hpath, fn), name))
                infos.append(info)
        if skipped:
            warnings.append(f"{len(skipped)} weight(s) listed but missing or not numeric: " + ", ".join(skipped[:5]))
        n_opt, opt_name, opt_grp = _optimizer_state(f, layout)
    if transposed:
        warnings.append(LAYOUT_WARNING)
    if n_opt:
        warnings.append(f"optimizer state skipped (not weights): {n_opt} tensor(s) of "
                        f"{opt_name or 'the optimizer'} under {opt_grp}/")
    return build(entries, source=source, format="keras" if zipped else "keras-h5", provenance=prov,
                 warnings=warnings, path=p, known={e.stored_name: i for e, i in zip(entries, infos)})


@register_reader("keras", extensions=KERAS_EXT, sniff=is_keras_zip, sniff_order=50)
def read(p, s: str, ctx):
    """A Keras 3 ``.keras`` zip (config.json + model.weights.h5, read in place)."""
    from ...build import file_provenance

    prov = dict(ctx.prov)
    prov.update(file_provenance(p, ctx.hash))
    return load_keras(p, source=s, provenance=prov, warnings=list(ctx.warnings), zipped=True)
