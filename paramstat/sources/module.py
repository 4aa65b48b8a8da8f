"""Records from a live nn.Module: roles, module types and fans from the architecture itself.

Order = ``state_dict`` order (pre-order over ``named_modules``; each module's own parameters, then its
persistent buffers), which is the network's definition order. Tied parameters (the same tensor under
two names) are listed once, under the first name; the alias is noted in ``Checkpoint.warnings``.
"""
from __future__ import annotations

from ..dtypes import torch_dtype_name, torch_to_numpy
from ..record import Checkpoint, TensorRecord
from .roles import RoleInfo, role_from_module


def module_entries(module) -> list[tuple[str, object, str, RoleInfo]]:
    """[(full_name, tensor, kind, RoleInfo)] for every parameter and persistent buffer, in state_dict
    order, aliases included (kind is 'param' or 'buffer')."""
    out = []
    for mname, mod in module.named_modules(remove_duplicate=False):
        prefix = f"{mname}." if mname else ""
        for pname, p in mod._parameters.items():
            if p is None:
                continue
            full = prefix + pname
            out.append((full, p, "param", role_from_module(mod, pname, full, tuple(p.shape), False)))
        nonpersistent = getattr(mod, "_non_persistent_buffers_set", set())
        for bname, b in mod._buffers.items():
            if b is None or bname in nonpersistent:
                continue
            full = prefix + bname
            out.append((full, b, "buffer", role_from_module(mod, bname, full, tuple(b.shape), True)))
    return out


def role_map(module) -> dict[str, RoleInfo]:
    """state_dict key -> RoleInfo for every key of ``module.state_dict()`` (aliases included)."""
    return {name: info for name, _t, _k, info in module_entries(module)}


def _reader(t):
    return lambda: torch_to_numpy(t)[0]


def checkpoint_from_module(module, source: str = "<module>", provenance: dict | None = None,
                           format: str = "module") -> Checkpoint:
    """A Checkpoint whose records read the module's live tensors (one at a time, as numpy)."""
    import torch

    records: list[TensorRecord] = []
    warnings: list[str] = []
    seen: dict[tuple, str] = {}
    with torch.no_grad():
        for name, t, _kind, info in module_entries(module):
            key = (t.data_ptr(), tuple(t.shape), str(t.dtype)) if t.numel() else None
            if key is not None and key in seen:
                warnings.append(f"{name} is the same tensor as {seen[key]} (tied); listed once")
                continue
            if key is not None:
                seen[key] = name
            records.append(TensorRecord(
                name=name, stored_name=name, dtype=torch_dtype_name(t.dtype), shape=tuple(t.shape),
                role=info.role, depth=len(records), module_type=info.module_type, fan_in=info.fan_in,
                fan_out=info.fan_out, groups=info.groups, reader=_reader(t.detach()), hidden_size=info.hidden_size,
            ))
    prov = {"source": source, "format": format, "torch_version": str(torch.__version__)}
    prov.update(provenance or {})
    return Checkpoint(source=source, format=format, records=records, provenance=prov, warnings=warnings)
