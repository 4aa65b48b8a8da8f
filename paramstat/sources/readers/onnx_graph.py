"""ONNX models (.onnx): the weights are the graph's float initializers, read with the ``onnx`` package
(``onnx.load(path, load_external_data=True)``: external data next to the file); the graph is never run.

Weights: float initializers of the main graph and of every subgraph (If/Loop/Scan bodies), and float
``Constant`` nodes (exporters that inline weights, e.g. silero-vad's, store them so). Integer/bool
tensors (shapes, indices, Reshape targets) are skipped as non-weights; so are float scalars and
one-element tensors that feed no weight slot (eps, 0.5 ...). Names as stored (a Constant's output
name); order = first use by a graph node (subgraphs walked where their node stands, Identity/Cast
looked through); float tensors no node reads are skipped (they take no part in the computation) and
listed in a warning.

Roles from the first consuming node (inputs numbered as in the ONNX operator spec):
  Conv / ConvTranspose W (1): conv, or dwconv when group > 1 and the weight's dim 1 is 1 (group ==
      in_channels); fans on the stored OIHW shape as torch computes them; B (2): bias with W's fans.
  Gemm B (1): linear, shown as (out, in) like PyTorch: transB=1 is stored so, transB=0 stores (in, out)
      and is transposed (and said in a warning); C (2): bias with that weight's fans.
  MatMul with a 2-D tensor as input 1: stored (in, out) -> transposed to (out, in), linear (warning);
      as input 0 (W @ x): already (out, in).
  Gather input 0 (2-D): embedding.
  BatchNormalization scale/B (1, 2): norm weight/bias; mean/var (3, 4): running stats.
  LayerNormalization / InstanceNormalization / GroupNormalization / SkipLayerNormalization scale/bias.
  LSTM / GRU / RNN W (1), R (2): stored (num_directions, gates*hidden, in) -> reshaped to
      (num_directions*gates*hidden, in), linear with fan_in = in, fan_out = gates*hidden; B (3): bias,
      flattened.
  Anything else: roles.infer_roles from shape and name, as for a bare state dict.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ParamstatError
from ...formats import ONNX_EXT
from ...stats.shapes import torch_fans
from ..registry import register_reader
from ..roles import RoleInfo

HINT = "the file is truncated or not an ONNX model: re-download or re-export it"
FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}   # onnx.TensorProto codes
PASS_THROUGH = ("Identity", "Cast")
NORM_OPS = ("LayerNormalization", "InstanceNormalization", "GroupNormalization", "SimplifiedLayerNormalization",
            "RMSNormalization")
RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _import_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ParamstatError("reading .onnx files needs the onnx package", hint="pip install onnx") from e
    return onnx


def _graphs(graph, onnx):
    """The graph and its subgraphs, depth first, each once (in node order)."""
    yield graph
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(a.g, onnx)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from _graphs(g, onnx)


def _collect(model, onnx) -> tuple[dict, list, int]:
    """{name: TensorProto} of every initializer / Constant value (file order), uses
    [(name, op_type, input index, node)] in graph order (Identity/Cast looked through), and how many
    same-named tensors of sibling subgraphs were dropped (the first of a name is kept)."""
    tensors: dict = {}
    dup = 0

    def add(name, t):
        nonlocal dup
        if name in tensors:
            dup += 1
        else:
            tensors[name] = t

    for g in _graphs(model.graph, onnx):
        for t in g.initializer:
            add(t.name, t)
        for node in g.node:
            if node.op_type == "Constant" and node.output:
                for a in node.attribute:
                    if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                        add(node.output[0], a.t)
    uses: list = []
    alias: dict[str, str] = {}

    def walk(graph):
        for node in graph.node:
            for i, x in enumerate(node.input):
                src = alias.get(x, x)
                if src in tensors:
                    if node.op_type in PASS_THROUGH and i == 0 and node.output:
                        alias[node.output[0]] = src
                    uses.append((src, node.op_type, i, node))
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    for g in a.graphs:
                        walk(g)

    walk(model.graph)
    return tensors, uses, dup


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return a.i if a.type == 2 else default   # AttributeProto.INT
    return default


def _weight_role(op: str, i: int, node, shape: tuple, shapes: dict) -> tuple[RoleInfo, str] | None:
    """(role, transform) for a tensor in a weight slot; transform '' | 'T' | 'rnn' | 'flat'."""
    if op in ("Conv", "ConvTranspose"):
        g = _attr(node, "group", 1)
        if i == 1 and len(shape) >= 3:
            fi, fo = torch_fans(shape)
            dw = op == "Conv" and g > 1 and shape[1] == 1
            return RoleInfo("dwconv" if dw else "conv", fi, fo, g, op), ""
        if i == 2 and len(shape) == 1:
            w = shapes.get(node.input[1]) if len(node.input) > 1 else None
            fi, fo = torch_fans(w) if w else (None, None)
            return RoleInfo("bias", fi, fo, g, op), ""
    if op == "Gemm" and len(shape) <= 2:
        tb = _attr(node, "transB", 0)
        if i == 1 and len(shape) == 2:
            out_in = shape if tb else shape[::-1]
            return RoleInfo("linear", *torch_fans(out_in), None, op), "" if tb else "T"
        if i == 2:
            w = shapes.get(node.input[1]) if len(node.input) > 1 else None
            fi, fo = (torch_fans(w if tb else w[::-1]) if w and len(w) == 2 else (None, None))
            return RoleInfo("bias", fi, fo, None, op), ""
    if op == "MatMul" and len(shape) == 2:
        if i == 1:
            return RoleInfo("linear", *torch_fans(shape[::-1]), None, op), "T"
        return RoleInfo("linear", *torch_fans(shape), None, op), ""
    if op == "Gather" and i == 0 and len(shape) == 2:
        return RoleInfo("embedding", *torch_fans(shape), None, op), ""
    if op == "BatchNormalization" and 1 <= i <= 4:
        return RoleInfo(("norm_weight", "norm_bias", "running_stat", "running_stat")[i - 1], module_type=op), ""
    if op in NORM_OPS and i in (1, 2):
        return RoleInfo("norm_weight" if i == 1 else "norm_bias", module_type=op), ""
    if op == "SkipLayerNormalization" and i in (2, 3):   # inputs: input, skip, gamma, beta, bias
        return RoleInfo("norm_weight" if i == 2 else "norm_bias", module_type=op), ""
    if op in RNN_GATES and i in (1, 2, 3) and len(shape) >= 2:
        w = shapes.get(node.input[1])
        if w is None or len(w) != 3:
            return None
        gh, n_in = w[1], w[2]
        r = shapes.get(node.input[2]) if len(node.input) > 2 else None   # R: (dirs, gates*hidden, hidden)
        hidden = _attr(node, "hidden_size", None) or (int(r[2]) if r is not None and len(r) == 3 else None)
        if i == 3:
            return RoleInfo("bias", n_in, gh, None, op, hidden), "flat"
        fan_in = shape[2] if len(shape) == 3 else n_in
        return RoleInfo("linear", fan_in, gh, None, op, hidden), "rnn"
    return None


def _array(t, onnx, transform: str) -> np.ndarray:
    from onnx import numpy_helper

    a = numpy_helper.to_array(t)
    if t.data_type == onnx.TensorProto.BFLOAT16:
        a = np.ascontiguousarray(a).view(np.uint16)   # paramstat keeps bf16 as raw bits
    if transform == "T":
        a = a.T
    elif transform == "rnn":
        a = a.reshape(-1, a.shape[-1])
    elif transform == "flat":
        a = a.reshape(-1)
    return np.ascontiguousarray(a)


def _shape_after(shape: tuple, transform: str) -> tuple:
    if transform == "T":
        return shape[::-1]
    if transform == "rnn":
        n = 1
        for s in shape[:-1]:
            n *= s
        return (n, shape[-1])
    if transform == "flat":
        n = 1
        for s in shape:
            n *= s
        return (n,)
    return shape


# ONNX producer_name -> the framework whose init laws drew the weights (paramstat.verdict.exactlaw.framework_laws):
# torch.onnx.export writes 'pytorch'. (tf2onnx / keras2onnx files are not restricted to Keras' laws: Keras
# applications draw laws the registry also lists for torch libraries only, see docs/VERDICTS.md.)
ONNX_PRODUCERS = {"pytorch": "torch"}


def read_onnx(path: str | Path) -> tuple[list, dict[str, RoleInfo], list[str], str]:
    """(Entries in network order, {stored name: RoleInfo} from consuming nodes, warnings, producer_name)."""
    from google.protobuf.message import DecodeError

    from ..build import Entry

    onnx = _import_onnx()
    p = str(path)
    try:
        model = onnx.load(p, load_external_data=False)
        _load_external(model, Path(p), onnx)
    except DecodeError as e:
        raise ParamstatError(f"not an ONNX model (protobuf: {str(e)[:100]})", path=p, hint=HINT) from e
    except (OSError, ValueError, RuntimeError, onnx.checker.ValidationError) as e:   # missing external data
        first = (str(e).splitlines() or [""])[0][:120]
        raise ParamstatError(f"cannot read the ONNX model or its external data ({type(e).__name__}: {first})",
                             path=p, hint="keep the external data files next to the .onnx as exported") from e
    if not model.graph.node and not model.graph.initializer:
        raise ParamstatError("not an ONNX model (no graph nodes, no initializers)", path=p, hint=HINT)
    tensors, uses, dup = _collect(model, onnx)
    shapes = {k: tuple(int(d) for d in t.dims) for k, t in tensors.items()}
    _check_sizes(tensors, shapes, p)
    order: list[str] = []
    role: dict[str, tuple[RoleInfo, str]] = {}
    for name, op, i, node in uses:
        if name not in role:
            r = _weight_role(op, i, node, shapes[name], shapes)
            if r is not None:
                role[name] = r
        if name not in order:
            order.append(name)
    unused = [k for k in tensors if k not in order and FLOAT_TYPES.get(tensors[k].data_type) is not None]
    entries, infos, transposed, n_int, n_scalar, other_dtype = [], {}, [], 0, 0, []
    n_int += sum(1 for k in tensors if k not in order and FLOAT_TYPES.get(tensors[k].data_type) is None
                 and tensors[k].data_type in (6, 7, 9, 2, 3, 4, 5, 12, 13))
    for name in order:
        t = tensors[name]
        dtype = FLOAT_TYPES.get(t.data_type)
        numel = int(np.prod(shapes[name])) if shapes[name] else 1
        if dtype is None:
            if t.data_type in (6, 7, 9, 2, 3, 4, 5, 12, 13):   # int32/int64/bool/uint8/int8/... : shapes, indices
                n_int += 1
            else:
                known = t.data_type in onnx.TensorProto.DataType.values()   # a corrupt file may say 29
                kind = onnx.TensorProto.DataType.Name(t.data_type) if known else f"data type {t.data_type}"
                other_dtype.append(f"{name} ({kind})")
            continue
        info, transform = role.get(name, (None, ""))
        if info is None and numel <= 1:
            n_scalar += 1
            continue
        if transform == "T":
            transposed.append(name)
        entries.append(Entry(name, _shape_after(shapes[name], transform), dtype,
                             (lambda t=t, tr=transform: _array(t, onnx, tr))))
        if info is not None:
            infos[name] = info
    warnings = [f"{dup} tensor(s) in subgraphs share a name with an earlier one: the first kept"] if dup else []
    if transposed:
        warnings.append(f"{len(transposed)} Gemm(transB=0)/MatMul weight(s) transposed from ONNX (in, out) to "
                        f"PyTorch's (out, in): " + ", ".join(transposed[:5]) + (" ..." if len(transposed) > 5 else ""))
    if n_int or n_scalar:
        warnings.append(f"skipped as non-weights: {n_int} integer/bool tensor(s) (shapes, indices) and "
                        f"{n_scalar} float scalar(s)")
    if unused:
        warnings.append(f"skipped {len(unused)} float tensor(s) no graph node reads (not part of the model's "
                        "computation): " + ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else ""))
    if other_dtype:
        warnings.append(f"{len(other_dtype)} tensor(s) of unsupported dtype skipped: " + ", ".join(other_dtype[:5]))
    return entries, infos, warnings, str(model.producer_name or "")


# element size of the ONNX tensor types whose bytes sit in raw_data (onnx.TensorProto codes)
RAW_ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


def _load_external(model, path: Path, onnx) -> None:
    """External data (``data_location == EXTERNAL``) loaded only from files inside the model's folder
    (confine.inside: relative, no '..', no symlink out) and only within each file's size and
    ``--max-tensor-bytes``; then onnx's own loader reads it."""
    from onnx.external_data_helper import _get_all_tensors, load_external_data_for_model

    from ..confine import inside
    from ..limits import check_bytes

    base, n_ext = path.parent, 0
    for t in _get_all_tensors(model):
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        n_ext += 1
        info = {e.key: e.value for e in t.external_data}
        target = inside(base, info.get("location"), f"external data of tensor {t.name[:60]!r}", str(path))
        try:
            offset, length = int(info.get("offset") or 0), info.get("length")
            length = int(length) if length is not None else None
        except ValueError as e:
            raise ParamstatError(f"corrupt external-data record of tensor {t.name[:60]!r}", path=str(path),
                                 hint=HINT) from e
        if not target.is_file():
            raise ParamstatError(f"external data file of tensor {t.name[:60]!r} is missing", path=str(path),
                                 hint="keep the external data files next to the .onnx as exported")
        size = target.stat().st_size
        if offset < 0 or (length is not None and (length < 0 or offset + length > size)) or offset > size:
            raise ParamstatError(f"external data of tensor {t.name[:60]!r} lies outside its file "
                                 f"({size} bytes)", path=str(path), hint=HINT)
        check_bytes(length if length is not None else size - offset, f"tensor {t.name[:60]!r}", str(path))
    if n_ext:
        load_external_data_for_model(model, str(base))


def _check_sizes(tensors: dict, shapes: dict, p: str) -> None:
    """Declared dims against the data present, before any array is built: no negative dim; raw_data
    holds exactly numel * itemsize bytes; typed fields (float_data ...) hold numel values."""
    from ..limits import numel

    for name, t in tensors.items():
        sh = shapes[name]
        if any(d < 0 for d in sh):
            raise ParamstatError(f"tensor {name[:60]!r} has a negative dimension {sh}", path=p, hint=HINT)
        n = numel(sh)
        if t.raw_data:
            size = RAW_ITEMSIZE.get(t.data_type)
            if size is not None and len(t.raw_data) != n * size:
                raise ParamstatError(f"tensor {name[:60]!r} declares {n:,} elements of {size} bytes, its data "
                                     f"has {len(t.raw_data):,} bytes", path=p, hint=HINT)
        else:
            held = max(len(t.float_data), len(t.int32_data), len(t.int64_data), len(t.double_data),
                       len(t.uint64_data))
            if held and held != n and t.data_type in FLOAT_TYPES:
                raise ParamstatError(f"tensor {name[:60]!r} declares {n:,} elements, its data has {held:,}",
                                     path=p, hint=HINT)
            if not held and n and t.data_type in FLOAT_TYPES:
                raise ParamstatError(f"tensor {name[:60]!r} declares {n:,} elements and holds no data",
                                     path=p, hint=HINT)


def load_checkpoint(path: Path, source: str, *, provenance: dict, warnings: list[str], roles=None, order=None):
    """Checkpoint (format 'onnx'); roles from the consuming nodes unless an architecture's ``roles`` is given."""
    from ..build import build

    entries, infos, w, producer = read_onnx(path)
    if not entries:
        raise ParamstatError("no float weights in this ONNX model" + (f" ({w[0]})" if w else ""), path=source,
                             hint="the graph holds no float initializers or Constant weights")
    onnx = _import_onnx()
    provenance = dict(provenance)
    provenance["onnx_version"] = onnx.__version__
    if producer:
        provenance["onnx_producer"] = producer
    return build(entries, source=source, format="onnx", provenance=provenance, warnings=list(warnings) + w,
                 roles=roles, order=order, path=source, known=infos,
                 framework=ONNX_PRODUCERS.get(producer.strip().lower()))


@register_reader("onnx", extensions=ONNX_EXT)
def read(p, s: str, ctx):
    """An ONNX model (no magic bytes: by extension only)."""
    from ..build import file_provenance

    prov = dict(ctx.prov)
    prov.update(file_provenance(p, ctx.hash))
    return load_checkpoint(p, s, provenance=prov, warnings=list(ctx.warnings), roles=ctx.roles, order=ctx.order)
