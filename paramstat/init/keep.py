"""The architecture's deliberate constants: tensors that the model's own init leaves constant.

timm's ``zero_init_last`` BatchNorm gammas (0), zero classifier heads, layer-scale gammas (1e-6 / 1e-5),
BatchNorm / LayerNorm weights 1 and biases 0 are all *constant* tensors in a freshly built model: every
entry equal. Every scheme of `paramstat.init.apply_init` keeps them as the model set them (unless
``keep_constants=False``): a constant is a choice of the architecture, not a draw. Detected on the
module's state when the init is applied, i.e. on its own fresh init for a freshly built model.
A tensor of one element counts as constant (there is no distribution to sample it from).
"""
from __future__ import annotations


def constant_names(module) -> set[str]:
    """Names of every slot (`layers.all_slots`: fused q/k/v chunks as 'name[q]' ...) whose entries are all
    equal, plus the plain parameter names of such parameters."""
    import torch

    from .layers import all_slots

    out: set[str] = set()
    with torch.no_grad():
        for s in all_slots(module):
            if _is_constant(s.tensor):
                out.add(s.name)
        for name, p in module.named_parameters():
            if _is_constant(p.data):
                out.add(name)
    return out


def _is_constant(t) -> bool:
    if t.numel() == 0:
        return False
    flat = t.reshape(-1)
    return t.numel() == 1 or bool((flat == flat[0]).all())
