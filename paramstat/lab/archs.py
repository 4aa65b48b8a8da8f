"""Model specs for the lab. ``build_model(spec, in_shape, n_classes, act)``:

- ``mlp:DxW``           D hidden layers of width W (Hanin & Rolnick's width = depth nets: ``mlp:20x20``),
                        input = the flattened data, output = n_classes; ``Linear -> act`` per hidden layer.
- ``mlp:n0,n1,...,nL``  explicit widths, input n0 (must match the flattened data) to output nL
                        (Glorot & Bengio style: ``mlp:1024,1000,1000,1000,1000,9``).
- ``cnn`` / ``cnn:c1,c2,...``  3x3 convs (first stride 1, then stride 2), act after each, global average
                        pool, Linear head. Default channels 16,32,32.
- ``resnet`` / ``resnet:B`` / ``resnet:BxC``  small pre-classifier ResNet: stem 3x3 conv (C channels,
                        BN, act), three stages of B basic blocks (conv-BN-act-conv-BN + shortcut, act) with
                        widths C, 2C, 4C, stride 2 at the start of stages 2 and 3. Default B=1, C=16.
- ``vit`` / ``vit:DxE``  a small timm VisionTransformer (its own init: trunc_normal .02, zero biases): D blocks
                        (default 2), width E (default 32, 2 heads, MLP ratio 2, GELU, LayerNorm), patches of
                        2 px for images up to 8 px, else 4 px; class token, learned positions.
- anything else         a timm model name, built with ``pretrained=False`` (its own init code).

Every built-in model lists its probe points in ``model.probe_points`` (the modules whose outputs are
the layer activations ``act_j``, in depth order, the last being the logits) and is flagged
``model.builtin = True``. For timm models ``probe_points`` are found by ``find_probe_points``.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from ..errors import ParamstatError

ACTIVATIONS = ("relu", "tanh", "softsign", "sigmoid", "gelu", "silu", "linear")
_ACT_CLASSES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softsign,
                nn.Hardswish, nn.Hardtanh, nn.Mish, nn.Identity)


def make_act(name: str) -> nn.Module:
    table = {"relu": nn.ReLU, "tanh": nn.Tanh, "softsign": nn.Softsign, "sigmoid": nn.Sigmoid,
             "gelu": nn.GELU, "silu": nn.SiLU, "linear": nn.Identity}
    if name not in table:
        raise ParamstatError(f"unknown activation {name!r}", hint=f"choose one of {', '.join(ACTIVATIONS)}")
    return table[name]()


class MLP(nn.Module):
    """Fully connected net ``widths[0] -> ... -> widths[-1]``, ``act`` after every hidden layer."""

    def __init__(self, widths: list[int], act: str = "relu"):
        super().__init__()
        self.widths = list(widths)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.acts = nn.ModuleList(make_act(act) for _ in widths[1:-1])
        self.probe_points = [*self.acts, self.linears[-1]]
        self.builtin = True

    def forward(self, x):
        x = x.flatten(1)
        for lin, act in zip(self.linears[:-1], self.acts):
            x = act(lin(x))
        return self.linears[-1](x)


class SmallCNN(nn.Module):
    def __init__(self, in_ch: int, channels: list[int], n_classes: int, act: str = "relu"):
        super().__init__()
        convs, acts = [], []
        prev = in_ch
        for i, c in enumerate(channels):
            convs.append(nn.Conv2d(prev, c, 3, stride=1 if i == 0 else 2, padding=1))
            acts.append(make_act(act))
            prev = c
        self.convs, self.acts = nn.ModuleList(convs), nn.ModuleList(acts)
        self.head = nn.Linear(prev, n_classes)
        self.probe_points = [*self.acts, self.head]
        self.builtin = True

    def forward(self, x):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x))
        return self.head(x.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = make_act(act)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)))
        self.act2 = make_act(act)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, in_ch: int, blocks: int, width: int, n_classes: int, act: str = "relu"):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))
        self.stem_act = make_act(act)
        layers, prev = [], width
        for s, c in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                layers.append(BasicBlock(prev, c, 2 if (s > 0 and b == 0) else 1, act))
                prev = c
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(prev, n_classes)
        self.probe_points = [self.stem_act, *[m for blk in layers for m in (blk.act1, blk.act2)], self.head]
        self.builtin = True

    def forward(self, x):
        x = self.blocks(self.stem_act(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def _ints(s: str, what: str) -> list[int]:
    try:
        vals = [int(v) for v in s.split(",") if v.strip()]
    except ValueError as err:
        raise ParamstatError(f"bad {what} spec {s!r}", hint="use comma-separated integers") from err
    if not vals or min(vals) < 1:
        raise ParamstatError(f"bad {what} spec {s!r}", hint="widths must be positive integers")
    return vals


def is_builtin(spec: str) -> bool:
    return spec.split(":", 1)[0] in ("mlp", "cnn", "resnet", "vit")


def mlp_widths(spec: str, n_in: int | None, n_classes: int) -> list[int]:
    """The full width list of an ``mlp:`` spec (input and output included)."""
    body = spec.split(":", 1)[1] if ":" in spec else ""
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", body)
    if m:
        depth, width = int(m.group(1)), int(m.group(2))
        if depth < 1 or width < 1:
            raise ParamstatError(f"bad mlp spec {spec!r}", hint="depth and width must be >= 1")
        return [n_in if n_in is not None else width, *([width] * depth), n_classes]
    widths = _ints(body, "mlp")
    if len(widths) < 2:
        raise ParamstatError(f"bad mlp spec {spec!r}", hint="give 'mlp:DEPTHxWIDTH' or 'mlp:n0,n1,...,nL'")
    if n_in is not None and widths[0] != n_in:
        raise ParamstatError(f"mlp spec {spec!r} expects {widths[0]} inputs but the data have {n_in}",
                             hint=f"start the width list with {n_in}")
    return widths


def build_model(spec: str, in_shape: tuple[int, ...] | None = None, n_classes: int = 10, act: str = "relu",
                seed: int = 0) -> nn.Module:
    """Build the model for ``spec`` (see module docstring). ``in_shape`` = one input's shape, e.g. (1, 28, 28);
    None lets an ``mlp:DxW`` take W inputs. Torch's RNG is seeded with ``seed`` before construction."""
    torch.manual_seed(seed)
    kind, _, body = spec.partition(":")
    n_in = None
    if in_shape is not None:
        n_in = 1
        for s in in_shape:
            n_in *= int(s)
    if kind == "mlp":
        return MLP(mlp_widths(spec, n_in, n_classes), act)
    if kind == "vit":
        if in_shape is None or len(in_shape) != 3:
            raise ParamstatError("vit needs image input (C, H, W)", hint="use --data digits|mnist5k|shapeset")
        m = re.fullmatch(r"(\d+)x(\d+)", body.strip()) if body else None
        if body and not m:
            raise ParamstatError(f"bad vit spec {spec!r}", hint="use vit or vit:DxE (depth x width)")
        depth, dim = (int(m.group(1)), int(m.group(2))) if m else (2, 32)
        return small_vit(in_shape, n_classes, depth, dim)
    if kind in ("cnn", "resnet"):
        if in_shape is None or len(in_shape) != 3:
            raise ParamstatError(f"{kind} needs image input (C, H, W)", hint="use --data digits|mnist5k|shapeset "
                                 "or random data with an image shape")
        if kind == "cnn":
            return SmallCNN(in_shape[0], _ints(body, "cnn") if body else [16, 32, 32], n_classes, act)
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", body.strip()) if body else None
        if body and not m:
            raise ParamstatError(f"bad resnet spec {spec!r}", hint="use resnet, resnet:B or resnet:BxC")
        blocks, width = (int(m.group(1)), int(m.group(2) or 16)) if m else (1, 16)
        return SmallResNet(in_shape[0], blocks, width, n_classes, act)
    return build_timm(spec, in_shape, n_classes)


def small_vit(in_shape: tuple[int, ...], n_classes: int, depth: int = 2, dim: int = 32) -> nn.Module:
    """timm VisionTransformer for small grey images (see module doc); image sides cropped to the patch grid."""
    from timm.models.vision_transformer import VisionTransformer

    side = int(in_shape[-1])
    patch = 2 if side <= 8 else 4
    model = VisionTransformer(img_size=side - side % patch, patch_size=patch, in_chans=int(in_shape[0]),
                              num_classes=n_classes, embed_dim=dim, depth=depth, num_heads=2, mlp_ratio=2.0,
                              dynamic_img_size=True)
    model.builtin = False
    return model


def build_timm(name: str, in_shape: tuple[int, ...] | None, n_classes: int | None) -> nn.Module:
    import timm

    kwargs = {}
    if in_shape is not None:
        kwargs["in_chans"] = int(in_shape[0])
    if n_classes is not None:
        kwargs["num_classes"] = n_classes
    try:
        model = timm.create_model(name, pretrained=False, **kwargs)
    except RuntimeError as err:
        raise ParamstatError(f"unknown model {name!r}",
                             hint="use a timm name (see timm.list_models) or mlp:DxW, mlp:n0,...,nL, cnn, resnet"
                             ) from err
    model.builtin = False
    return model


def default_input_shape(model: nn.Module) -> tuple[int, ...]:
    """One input's shape for random data: MLP -> (n0,), timm -> its default_cfg input size."""
    if isinstance(model, MLP):
        return (model.widths[0],)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    return tuple(cfg.get("input_size", (3, 224, 224)))


def find_probe_points(model: nn.Module) -> list[nn.Module]:
    """Built-in: ``model.probe_points``. Otherwise every activation module (each instance once), then the
    last Linear (the head); models without activation modules fall back to every Linear/Conv."""
    if getattr(model, "builtin", False):
        return list(model.probe_points)
    seen: set[int] = set()
    points = []
    for m in model.modules():
        if isinstance(m, _ACT_CLASSES) and not isinstance(m, nn.Identity) and id(m) not in seen:
            seen.add(id(m))
            points.append(m)
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not points:
        points = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    elif lin and id(lin[-1]) not in seen:
        points.append(lin[-1])
    return points
