"""The lab's one door to paramstat.init: ``init_model(model, scheme, seed=, data=, profile=)``.

No init code lives here: every scheme is ``paramstat.init.apply_init``'s (``default`` keeps the
weights the constructor drew: PyTorch's / timm's own init, seeded by ``build_model``).
"""
from __future__ import annotations


def init_model(model, scheme: str, *, seed: int = 0, data=None, profile=None):
    """Apply ``scheme`` to ``model`` in place and return it. ``data``: a batch (tensor) for data-dependent
    schemes (lsuv); ``profile``: a native-init profile path or name."""
    from ..init import apply_init

    apply_init(model, scheme, seed=seed, data=data, profile=profile)
    return model
