"""Derived checkpoints with a known truth, for checking verdicts on real third-party weights
(scripts/repro/thirdparty_check.py, tests/verdict/test_thirdparty.py): the same tensors in the usual wrapper layouts
(DataParallel + optimizer state, Lightning, torch.compile), and copies with chosen tensors back at PyTorch's
default init (a reset head). Needs torch (imported lazily)."""
from __future__ import annotations

import math
import re

RNN = re.compile(r"(^|\.)(weight|bias)_(ih|hh)(_l\d+)?(_reverse)?$")


def state_dict(path) -> dict:
    """{canonical name: torch tensor} exactly as paramstat reads the file (names after unwrapping)."""
    import torch

    import paramstat
    from paramstat.dtypes import as_float

    out = {}
    for r in paramstat.load(str(path)):
        raw = r.read()
        t = torch.from_numpy(as_float(raw, r.dtype).copy()) if r.dtype == "bfloat16" else torch.from_numpy(raw.copy())
        out[r.name] = t.to(torch.bfloat16) if r.dtype == "bfloat16" else t
    return out


def sgd_state(sd: dict, seed: int = 0) -> dict:
    """A real torch.optim.SGD(momentum=0.9) state_dict after one step on seeded random gradients."""
    import torch

    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(v.detach().clone().float()) for v in sd.values() if v.is_floating_point()]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    opt.step()
    return opt.state_dict()


def wrappers(sd: dict) -> dict[str, object]:
    """The three wrapper layouts (objects to torch.save)."""
    return {
        "wrap:dataparallel": {"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 90,
                              "best_prec1": 93.1, "arch": "resnet", "optimizer": sgd_state(sd)},
        "wrap:lightning": {"state_dict": {"model." + k: v for k, v in sd.items()}, "epoch": 12, "global_step": 4680,
                           "pytorch-lightning_version": "2.4.0",
                           "hyper_parameters": {"lr": 0.1, "batch_size": 128, "max_epochs": 12}},
        "wrap:compile": {"_orig_mod." + k: v for k, v in sd.items()},
    }


def _fan_in(shape) -> int:
    return int(shape[1]) * math.prod(int(s) for s in shape[2:])


def default_init(name: str, t, role: str, sd: dict, g):
    """PyTorch's default init of one tensor (a new tensor), or None when there is none to apply.

    Conv / linear / attention weights (ndim >= 2): kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in));
    their bias U(+-1/sqrt(fan_in)) with the sibling weight's fan_in; recurrent weight_ih/hh, bias_ih/hh:
    U(+-1/sqrt(hidden)), hidden = rows/4 (LSTM: every recurrent net in the corpus is one); embedding N(0, 1);
    norm weight 1, norm bias 0, running_mean 0, running_var 1, num_batches_tracked 0.
    """
    import torch

    if not t.is_floating_point():
        return torch.zeros_like(t)
    if RNN.search(name):
        b = 1 / math.sqrt(t.shape[0] // 4)
        return torch.empty(t.shape).uniform_(-b, b, generator=g).to(t.dtype)
    if role == "norm_weight":
        return torch.ones_like(t)
    if role == "norm_bias":
        return torch.zeros_like(t)
    if role == "running_stat":
        return torch.ones_like(t) if name.endswith("running_var") else torch.zeros_like(t)
    if role == "embedding":
        return torch.randn(t.shape, generator=g).to(t.dtype)
    if t.ndim >= 2:
        return torch.nn.init.kaiming_uniform_(torch.empty(t.shape), a=math.sqrt(5), generator=g).to(t.dtype)
    sib = sd.get(name.rpartition(".")[0] + ".weight") if name.endswith("bias") else None
    if sib is not None and sib.ndim >= 2:
        b = 1 / math.sqrt(_fan_in(sib.shape))
        return torch.empty(t.shape).uniform_(-b, b, generator=g).to(t.dtype)
    return None


def reinit(sd: dict, roles: dict, names, seed: int = 0) -> tuple[dict, list[str]]:
    """Copy of ``sd`` with ``names`` at their default init (seeded); also returns the names changed."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out, changed = dict(sd), []
    for k in names:
        new = default_init(k, sd[k], roles[k], sd, g)
        if new is not None:
            out[k] = new
            changed.append(k)
    return out, changed


def same_as_plain(plain, other) -> str:
    """'' when verdicts, scores and every tensor's bytes agree; else what differs."""
    if (plain.verdict, plain.score) != (other.verdict, other.score):
        return f"checkpoint {other.verdict} {other.score} vs {plain.verdict} {plain.score}"
    a = {t.name: (t.verdict, t.score) for t in plain.tensors}
    b = {t.name: (t.verdict, t.score) for t in other.tensors}
    if a != b:
        return "tensor verdicts differ: " + ", ".join(sorted(set(a.items()) ^ set(b.items())))[:200]
    pa, pb = plain.checkpoint, other.checkpoint
    for rec in pa:
        x, y = rec.read(), pb[rec.name].read()
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            return f"{rec.name}: values differ"
    return ""
