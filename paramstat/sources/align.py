"""Key alignment, in one place: unwrap nested checkpoints, strip wrapper prefixes from state-dict keys,
align keys to an architecture's by a shared leading prefix (`align_to_architecture`), and match tensors
saved under foreign names by position and shape (`same_shapes_in_order`; used by `build` for ``--model``
and by paramstat.compare.align).

Nested: a dict whose weights live under a known key (state_dict, model_state_dict, model, net, network,
module, params, weights, then the EMA copies ema / model_ema / state_dict_ema) is unwrapped, recursively
(Lightning: ``{'state_dict': {'model.x': ...}, 'epoch': ...}``). Entries that are not tensors (epoch,
best_prec1, optimizer state ...) are ignored and listed in the warnings.

Prefixes: ``module.`` (DataParallel/DDP), ``_orig_mod.`` (torch.compile), ``model.`` (Lightning),
``state_dict.``, ``net.``, ``network.``, ``ema.``: only these wrapper prefixes (never a model's own
prefix such as ``bert.``), only when EVERY key carries the same one, repeatedly
(``module._orig_mod.x`` -> ``x``).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import ParamstatError
from .limits import MAX_DEPTH, MAX_OBJECTS

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "module", "params",
                "weights", "ema", "model_ema", "state_dict_ema", "ema_state_dict")
WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.", "state_dict.", "net.", "network.", "ema.")


def _is_tensor(x) -> bool:
    """A torch tensor or a legacy file's LazyTensor; torch is not imported for this (when torch is not
    loaded, nothing can be a torch tensor)."""
    from .readers.torch_legacy import LazyTensor

    if isinstance(x, LazyTensor):
        return True
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _is_module(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.nn.Module)


def _has_tensors(d) -> bool:
    return isinstance(d, dict) and any(_is_tensor(v) for v in d.values())


def _describe(v) -> str:
    if isinstance(v, (int, float, str, bool)) or v is None:
        s = repr(v)
        return s if len(s) <= 40 else s[:37] + "..."
    if isinstance(v, dict):
        return f"dict with {len(v)} entries"
    if isinstance(v, (list, tuple)):
        return f"{type(v).__name__} of {len(v)}"
    return type(v).__name__


def unwrap(obj, path: str = "", _seen: frozenset = frozenset()) -> tuple[dict, list[str], str]:
    """(flat {key: tensor-or-module}, warnings, where) from a loaded checkpoint object.

    ``where`` names the nesting used ('' for top level, 'state_dict', 'checkpoint.model' ...).
    An nn.Module found on the way is returned as {'': module} so the caller can use the architecture.
    Hostile graphs are bounded: a dict reached again (a cycle, or a shared sub-dict) is not walked twice,
    nesting deeper than limits.MAX_DEPTH and more than limits.MAX_OBJECTS dicts are refused.
    """
    warnings: list[str] = []
    if _is_module(obj):
        return {"": obj}, warnings, path
    if not isinstance(obj, dict):
        if _is_tensor(obj):
            return {"tensor": obj}, warnings, path
        return {}, [f"{path or 'file'}: a {type(obj).__name__}, not a dict of tensors"], path
    if id(obj) in _seen or len(_seen) > MAX_DEPTH:
        raise ParamstatError(f"checkpoint object nested too deeply or cyclic at '{path[:80]}'",
                             hint="the file is corrupt or hostile")
    seen = _seen | {id(obj)}
    if not _has_tensors(obj):
        for k in WRAPPER_KEYS:
            v = obj.get(k)
            if _is_module(v) or (isinstance(v, dict) and v):
                inner, w, where = unwrap(v, f"{path}.{k}" if path else k, seen)
                if inner:
                    others = [f"{kk} ({_describe(vv)})" for kk, vv in obj.items() if kk != k]
                    if others:
                        warnings.append(f"weights taken from '{k}'; ignored: " + ", ".join(others[:12])
                                        + (f" and {len(others) - 12} more" if len(others) > 12 else ""))
                    return inner, warnings + w, where
        # no known key: a single dict-valued entry holding tensors
        cands = [k for k, v in obj.items() if _has_tensors(v)]
        if len(cands) == 1:
            k = cands[0]
            inner, w, where = unwrap(obj[k], f"{path}.{k}" if path else k, seen)
            others = [f"{kk} ({_describe(vv)})" for kk, vv in obj.items() if kk != k]
            if others:
                warnings.append(f"weights taken from '{k}'; ignored: " + ", ".join(others[:12]))
            return inner, warnings + w, where
        # nested dicts of tensors (e.g. {'encoder': {...}, 'decoder': {...}}): flatten with '.'
        flat: dict = {}
        _flatten(obj, "", flat, warnings)
        return flat, warnings, path
    out = {}
    ignored = []
    for k, v in obj.items():
        if _is_tensor(v):
            out[str(k)] = v
        else:
            ignored.append(f"{k} ({_describe(v)})")
    if ignored:
        warnings.append("non-tensor entries ignored: " + ", ".join(ignored[:12])
                        + (f" and {len(ignored) - 12} more" if len(ignored) > 12 else ""))
    return out, warnings, path


def _flatten(d: dict, prefix: str, out: dict, warnings: list[str]) -> None:
    """Nested dicts of tensors flattened with '.', depth first in insertion order, without recursion.
    Sharing is preserved: a dict reached a second time (a DAG of shared sub-dicts, or a cycle) is not
    expanded again but noted once per dict (else 40 levels of a dict shared twice would give 2^40 keys)."""
    seen: dict[int, str] = {id(d): prefix or "<top>"}
    shared: list[str] = []
    walked = 0
    stack = [iter(d.items())]
    prefixes = [prefix]
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            prefixes.pop()
            continue
        k, v = nxt
        key = f"{prefixes[-1]}{k}"
        if _is_tensor(v):
            out[key] = v
        elif isinstance(v, dict):
            first = seen.get(id(v))
            if first is not None:
                shared.append(f"{key} (= {first})")
                continue
            walked += 1
            if walked > MAX_OBJECTS or len(stack) > MAX_DEPTH:
                raise ParamstatError("checkpoint object too large or nested too deeply to unwrap "
                                     f"(> {MAX_OBJECTS:,} dicts or > {MAX_DEPTH} levels)",
                                     hint="the file is corrupt or hostile")
            seen[id(v)] = key
            stack.append(iter(v.items()))
            prefixes.append(key + ".")
        else:
            warnings.append(f"non-tensor entry ignored: {key} ({_describe(v)})")
    if shared:
        warnings.append(f"{len(shared)} nested dict(s) appear twice (shared or cyclic), listed once: "
                        + ", ".join(s[:80] for s in shared[:5]) + (" ..." if len(shared) > 5 else ""))


def strip_prefixes(names: list[str]) -> tuple[list[str], str]:
    """Canonical names with wrapper prefixes removed when every key carries the same one.
    Returns (names, removed prefix string, '' if none)."""
    removed = ""
    cur = list(names)
    while cur:
        for p in WRAPPER_PREFIXES:
            if all(n.startswith(p) and len(n) > len(p) for n in cur):
                cur = [n[len(p):] for n in cur]
                removed += p
                break
        else:
            break
    return cur, removed


def align_to_architecture(names: list[str], roles: dict) -> tuple[list[str], str]:
    """When fewer than half the keys match the architecture, drop leading dot-components that every key
    shares (e.g. 'backbone.', 'encoder.') if that matches more keys. Returns (names, removed prefix)."""
    hits = sum(n in roles for n in names)
    if hits * 2 >= len(names):
        return names, ""
    parts = [n.split(".") for n in names]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    best, best_k = hits, 0
    for k in range(1, common + 1):
        h = sum(".".join(p[k:]) in roles for p in parts)
        if h > best:
            best, best_k = h, k
    if best_k == 0:
        return names, ""
    return [".".join(p[best_k:]) for p in parts], ".".join(parts[0][:best_k]) + "."


def same_shapes_in_order(shapes_a: Sequence[Sequence[int]], shapes_b: Sequence[Sequence[int]]) -> bool:
    """True when both lists hold the same number of tensors with equal shapes position by position
    (two implementations of one network, e.g. lukemelas' EfficientNet vs timm's, a TorchScript export vs
    an ONNX export, store the same tensors in the same order under other names)."""
    return len(shapes_a) == len(shapes_b) and all(tuple(x) == tuple(y) for x, y in zip(shapes_a, shapes_b))


def head_size(file_shapes: Sequence[Sequence[int]], arch_shapes: Sequence[Sequence[int]],
              is_head: Sequence[bool]) -> int | None:
    """The file's number of classes when it is the architecture with another classifier size: both lists
    in the same order and of the same length, equal everywhere except at classifier tensors (``is_head``),
    which differ only in their first dimension, by one value C for all of them; else None."""
    if len(file_shapes) != len(arch_shapes) or len(is_head) != len(arch_shapes):
        return None
    sizes = set()
    for f, a, head in zip(file_shapes, arch_shapes, is_head):
        f, a = tuple(f), tuple(a)
        if f == a:
            continue
        if not head or len(f) != len(a) or not f or f[1:] != a[1:]:
            return None
        sizes.add(f[0])
    return sizes.pop() if len(sizes) == 1 else None
