"""Sources: one entry point, many inputs. ``load(source)`` -> Checkpoint (see docs/ARCHITECTURE.md)."""
from __future__ import annotations

from .module import checkpoint_from_module, role_map
from .roles import RoleInfo, infer_roles

__all__ = ["load", "checkpoint_from_module", "infer_roles", "role_map", "RoleInfo"]


def load(source, *, fresh=False, seed=0, model=None, checkpoint=None, trust_pickle=False):
    from .dispatch import load as _load

    return _load(source, fresh=fresh, seed=seed, model=model, checkpoint=checkpoint, trust_pickle=trust_pickle)
