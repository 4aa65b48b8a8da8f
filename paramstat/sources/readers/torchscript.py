"""TorchScript archives (torch.jit.save, .ptl) read without running any of their code.

An archive is a zip ``<archive>/data.pkl`` (the module tree: ``__torch__.*`` objects whose pickled state
dicts hold tensors, submodules and plain values), ``<archive>/data/<key>`` (tensor storages) and
``<archive>/code/__torch__/**.py`` (TorchScript source). ``data.pkl`` goes through ``_SafeUnpickler``,
whose ``find_class`` allows only torch's tensor-rebuild functions (``torch._utils._rebuild_*`` from
torch's weights_only allow-list), ``collections.OrderedDict`` and TorchScript's typed-list builders
(``torch.jit._pickle.build_intlist`` ...: reimplemented here as identities); every ``__torch__.*`` class
becomes an inert ``ScriptObject`` that only stores its state; any other global raises before anything
is called. Storages come from ``torch.serialization._load``'s own persistent_load (storage types are
resolved there, before find_class). The code files are read as text, never executed, for each class's
``__parameters__`` / ``__buffers__`` lists, its base (``Module`` or not) and its ``Final`` ints
(``groups``, ``in_channels``), and for tensors a class feeds to ``torch.conv*d`` in its own code (an
STFT basis buffer) the op's ``groups`` argument, so such a tensor gets the role and fans the ONNX
export of the same model gives it (conv unless groups > 1 and in/groups == 1).

Names and order follow ``torch.jit.load(p).state_dict()``: per module its parameters, then its buffers
(declaration order; TorchScript keeps non-persistent buffers), then its submodules, recursively;
None-valued Optional parameters are left out.
"""
from __future__ import annotations

import ast
import functools
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

from ...errors import ParamstatError
from ...formats import TS_EXT
from ...stats.shapes import torch_fans
from ..detect import is_torchscript
from ..registry import get_reader, register_reader
from ..roles import RNN_RE, RoleInfo, is_attn_in, rnn_role

CORRUPT_HINT = "the file is truncated or corrupt: re-download it or check that the copy finished"

TRUST_HINT = ("paramstat's code-free reader does not understand it; pass --trust-pickle (torch.jit.load) "
              "only if you trust the file")
CLASS_RE = re.compile(r"^class (\w+)(?:\(([\w.]*)\))?:\s*$", re.M)
LIST_RE = re.compile(r"^\s+(__parameters__|__buffers__) = (\[.*\])\s*$", re.M)
FINAL_INT_RE = re.compile(r"^\s+(\w+) : Final\[int\] = (-?\d+)\s*$", re.M)
SELF_ATTR_RE = re.compile(r"^\s+(\w+) = self\.(\w+)\s*$", re.M)
CONV_CALL_RE = re.compile(r"torch\.(conv[123]d|conv_transpose[123]d)\(")
RNN_CLASSES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")


class ScriptObject:
    """Inert stand-in for a ``__torch__.*`` object: keeps the unpickled state, runs nothing."""

    qualname = "?"

    def __setstate__(self, state):
        self.__dict__["_state"] = state


_CLASSES: dict[str, type] = {}


def _script_class(module: str, name: str) -> type:
    q = f"{module}.{name}"
    if q not in _CLASSES:
        _CLASSES[q] = type(name, (ScriptObject,), {"qualname": q, "pymodule": module})
    return _CLASSES[q]


def _identity(x, *_):
    return x


# TorchScript's pickler wraps typed lists in these (torch/jit/_pickle.py); all return their argument.
_JIT_BUILDERS = {f"torch.jit._pickle.{n}": _identity for n in (
    "build_intlist", "build_tensorlist", "build_doublelist", "build_boollist", "restore_type_tag")}


@functools.lru_cache(maxsize=1)
def _rebuild_functions() -> dict:
    import torch

    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        allowed = {k: v for k, v in _get_allowed_globals().items() if k.startswith("torch._utils._rebuild_")}
    except (ImportError, AttributeError):  # older/newer torch without that private helper
        allowed = {}
    allowed.setdefault("torch._utils._rebuild_tensor_v2", torch._utils._rebuild_tensor_v2)
    return allowed


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        full = f"{module}.{name}"
        if module == "__torch__" or module.startswith("__torch__."):
            return _script_class(module, name)
        if full == "collections.OrderedDict":
            return OrderedDict
        if full in _JIT_BUILDERS:
            return _JIT_BUILDERS[full]
        fn = _rebuild_functions().get(full)
        if fn is not None:
            return fn
        raise pickle.UnpicklingError(f"global '{full}' is not allowed")


class _PickleModule:
    """What torch.serialization._load expects of ``pickle_module``."""

    Unpickler = _SafeUnpickler
    UnpicklingError = pickle.UnpicklingError


def _archive_root(names: list[str], p: str) -> str:
    roots = [n[: -len("data.pkl")] for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
    if not roots:
        if any(n.endswith("model.json") for n in names):
            raise ParamstatError("a TorchScript archive in the pre-1.4 model.json format", path=p, hint=TRUST_HINT)
        raise ParamstatError("not a TorchScript archive (no data.pkl)", path=p, hint=TRUST_HINT)
    return roots[0]


def _class_table(z: zipfile.ZipFile, root: str, pymodule: str, p: str) -> dict[str, dict]:
    """{class name: {module, parameters, buffers, finals}} from ``code/<pymodule as path>.py``."""
    member = root + "code/" + pymodule.replace(".", "/") + ".py"
    try:
        text = z.read(member).decode("utf-8")
    except (KeyError, UnicodeDecodeError) as e:
        raise ParamstatError(f"TorchScript source for {pymodule} missing or unreadable ({member})", path=p,
                             hint=TRUST_HINT) from e
    out: dict[str, dict] = {}
    heads = list(CLASS_RE.finditer(text))
    for i, m in enumerate(heads):
        body = text[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        info = {"module": m.group(2) == "Module", "__parameters__": [], "__buffers__": []}
        for lm in LIST_RE.finditer(body):
            try:
                info[lm.group(1)] = [str(s) for s in ast.literal_eval(lm.group(2))]
            except (ValueError, SyntaxError) as e:
                raise ParamstatError(f"cannot parse {lm.group(1)} of {pymodule}.{m.group(1)}", path=p,
                                     hint=TRUST_HINT) from e
        info["finals"] = {k: int(v) for k, v in FINAL_INT_RE.findall(body)}
        info["conv_uses"] = _conv_uses(body, info["finals"])
        out[m.group(1)] = info
    return out


def _call_args(text: str, start: int) -> list[str]:
    """Top-level comma-separated arguments of the call whose '(' is at ``start - 1``."""
    args, depth, cur = [], 0, []
    for ch in text[start:]:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    args.append("".join(cur).strip())
    return args


def _conv_uses(body: str, finals: dict[str, int]) -> dict[str, tuple[str, int, str | None]]:
    """{own tensor attribute: (op, groups, weight attribute)} for tensors a class passes to
    ``torch.conv{1,2,3}d`` / ``torch.conv_transpose{1,2,3}d`` itself (buffers such as an STFT basis):
    groups is argument 6 of both (default 1), a literal or a Final int; a tensor whose groups the text
    does not fix is left out (its role is inferred). The bias (argument 2) maps to its weight's attribute."""
    local = dict(SELF_ATTR_RE.findall(body))     # local variable -> self attribute
    out: dict[str, tuple[str, int, str | None]] = {}
    for m in CONV_CALL_RE.finditer(body):
        args = _call_args(body, m.end())
        if len(args) < 2:
            continue

        def attr(a: str) -> str | None:
            return a[5:] if a.startswith("self.") else local.get(a)

        g_arg = args[6] if len(args) > 6 else "1"
        if re.fullmatch(r"-?\d+", g_arg):
            g = int(g_arg)
        elif attr(g_arg) in finals:
            g = finals[attr(g_arg)]
        else:
            continue
        w = attr(args[1])
        if w is None:
            continue
        out[w] = (m.group(1), g, None)
        b = attr(args[2]) if len(args) > 2 else None
        if b is not None:
            out[b] = (m.group(1), g, w)
    return out


def read_torchscript(path: str | Path) -> tuple[dict, dict[str, RoleInfo]]:
    """({state-dict name: tensor}, {name: RoleInfo} for tensors of known torch.nn modules)."""
    import torch

    p = str(path)
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError) as e:  # a TorchScript archive is a zip: unreadable = corrupt
        raise ParamstatError(f"truncated or corrupt TorchScript archive (not a readable zip: {e})", path=p,
                             hint=CORRUPT_HINT) from e
    try:
        with zipfile.ZipFile(p) as z:
            root = _archive_root(names, p)
            reader = torch._C.PyTorchFileReader(p)
            try:
                obj = torch.serialization._load(reader, "cpu", _PickleModule, pickle_file="data.pkl")
            except pickle.UnpicklingError as e:
                if "is not allowed" in str(e):
                    raise ParamstatError(f"refused: this TorchScript archive's data.pkl needs code to load ({e})",
                                         path=p, hint=TRUST_HINT) from e
                raise
            tables: dict[str, dict] = {}
            out: dict = {}
            roles: dict[str, RoleInfo] = {}
            _walk(obj, "", z, root, tables, out, roles, p)
    except ParamstatError:
        raise
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, zipfile.BadZipFile, OSError) as e:
        first = (str(e).splitlines() or [""])[0][:120]
        if isinstance(e, (zipfile.BadZipFile, EOFError)) or "archive is corrupted" in first or \
                "PytorchStreamReader failed" in first:
            raise ParamstatError(f"truncated or corrupt TorchScript archive ({type(e).__name__}: {first})",
                                 path=p, hint=CORRUPT_HINT) from e
        raise ParamstatError(f"cannot read the TorchScript archive without running code ({type(e).__name__}: "
                             f"{first})", path=p, hint=TRUST_HINT) from e
    if not isinstance(obj, ScriptObject):
        raise ParamstatError(f"TorchScript data.pkl holds a {type(obj).__name__}, not a module", path=p,
                             hint=TRUST_HINT)
    return out, roles


def _walk(obj: ScriptObject, prefix: str, z, root: str, tables: dict, out: dict, roles: dict, p: str) -> None:
    import torch

    if obj.pymodule not in tables:
        tables[obj.pymodule] = _class_table(z, root, obj.pymodule, p)
    cname = obj.qualname.rsplit(".", 1)[1]
    info = tables[obj.pymodule].get(cname)
    if info is None:
        raise ParamstatError(f"no TorchScript class {obj.qualname} in the archive's code", path=p, hint=TRUST_HINT)
    state = obj.__dict__.get("_state")
    if not isinstance(state, dict):
        raise ParamstatError(f"{obj.qualname} is pickled through a custom __getstate__ "
                             f"({type(state).__name__} state)", path=p, hint=TRUST_HINT)
    own = []
    for key in info["__parameters__"] + info["__buffers__"]:
        t = state.get(key)
        if isinstance(t, torch.Tensor):
            out[prefix + key] = t
            own.append(key)
    for key in own:
        r = _role(cname, key, prefix + key, tuple(state[key].shape), info["finals"], state)
        if r is None and key in info["conv_uses"]:
            r = _functional_conv_role(cname, key, info["conv_uses"][key], state)
        if r is not None:
            roles[prefix + key] = r
    for key, v in state.items():
        if isinstance(v, ScriptObject):
            if v.pymodule not in tables:
                tables[v.pymodule] = _class_table(z, root, v.pymodule, p)
            sub = tables[v.pymodule].get(v.qualname.rsplit(".", 1)[1])
            if sub is not None and sub["module"]:
                _walk(v, prefix + key + ".", z, root, tables, out, roles, p)


def _role(cname: str, key: str, full: str, shape: tuple, finals: dict, state: dict) -> RoleInfo | None:
    """Roles for the common torch.nn classes (as roles.role_from_module gives them); None = infer."""
    fi, fo = torch_fans(shape)
    if re.fullmatch(r"Conv(Transpose)?[123]d", cname):
        g = finals.get("groups", 1)
        w = state.get("weight")
        if key == "weight":
            dw = g > 1 and g == finals.get("in_channels", -1)
            return RoleInfo("dwconv" if dw else "conv", fi, fo, g, cname)
        if key == "bias" and w is not None:
            return RoleInfo("bias", *torch_fans(tuple(w.shape)), g, cname)
    if cname == "Linear":
        if key == "weight":
            return RoleInfo("attn_in_proj" if is_attn_in(full) else "linear", fi, fo, None, cname)
        if key == "bias" and state.get("weight") is not None:
            return RoleInfo("bias", *torch_fans(tuple(state["weight"].shape)), None, cname)
    if cname in RNN_CLASSES and RNN_RE.match(key):
        return rnn_role(key, shape, {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}, cname)
    if cname in ("Embedding", "EmbeddingBag") and key == "weight":
        return RoleInfo("embedding", fi, fo, None, cname)
    if "Norm" in cname:
        if key in ("running_mean", "running_var", "num_batches_tracked"):
            return RoleInfo("running_stat", module_type=cname)
        if key == "weight":
            return RoleInfo("norm_weight", module_type=cname)
        if key == "bias":
            return RoleInfo("norm_bias", module_type=cname)
    return None


def _functional_conv_role(cname: str, key: str, use: tuple[str, int, str | None], state: dict) -> RoleInfo | None:
    """Role of a tensor the class's own code passes to a conv op: as readers/onnx_graph.py gives a Conv node's W / B
    (dwconv when groups > 1 and in/groups == 1, fans on the stored shape; a bias gets its weight's fans)."""
    op, g, weight_key = use
    if weight_key is not None:
        w = state.get(weight_key)
        fi, fo = torch_fans(tuple(w.shape)) if w is not None else (None, None)
        return RoleInfo("bias", fi, fo, g, cname)
    shape = tuple(state[key].shape)
    if len(shape) < 3:
        return None
    dw = op.startswith("conv") and not op.startswith("conv_t") and g > 1 and shape[1] == 1
    return RoleInfo("dwconv" if dw else "conv", *torch_fans(shape), g, cname)


def load_entries(path: str | Path):
    """(build Entries in state-dict order, {name: RoleInfo}) for dispatch."""
    from ...dtypes import torch_dtype_name, torch_to_numpy
    from ..build import Entry

    sd, roles = read_torchscript(path)
    entries = [Entry(k, tuple(t.shape), torch_dtype_name(t.dtype), (lambda t=t: torch_to_numpy(t)[0]))
               for k, t in sd.items()]
    return entries, roles


def load_checkpoint(path: Path, source: str, *, provenance: dict, warnings: list[str], roles=None, order=None):
    """Checkpoint (format 'torchscript'); roles of Conv/Linear/Norm/Embedding modules from the archive's
    classes unless the caller gives an architecture's ``roles``."""
    from ..build import build

    entries, ts_roles = load_entries(path)
    return build(entries, source=source, format="torchscript", provenance=provenance, warnings=warnings,
                 roles=roles, order=order, path=source, known=ts_roles)


@register_reader("torchscript", extensions=TS_EXT, sniff=is_torchscript, sniff_order=30)
def read(p, s: str, ctx):
    """A TorchScript archive, read without running its code; with ``trust_pickle`` by torch.jit.load
    (the torch reader)."""
    from ..build import file_provenance

    if ctx.trust_pickle:
        return get_reader("torch").read(p, s, ctx)   # torch.jit.load (the registry: no import cycle)
    prov = dict(ctx.prov)
    prov.update(file_provenance(p, ctx.hash))
    return load_checkpoint(p, s, provenance=prov, warnings=list(ctx.warnings), roles=ctx.roles, order=ctx.order)
