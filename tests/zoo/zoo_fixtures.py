"""Small checkpoints for the zoo tests, made here: tiny torch.nn models as safetensors / .pt / .npz, and a
corrupt file."""
from __future__ import annotations

from pathlib import Path


def tiny_state(seed: int, width: int = 32, trained: bool = False) -> dict:
    """state_dict of Linear(width, width) -> ReLU -> Linear(width, 10) at PyTorch's default init (seed);
    ``trained``: 300 Adam steps on a random regression task (moves every weight off its init law)."""
    import torch

    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
    if trained:
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        x, y = torch.randn(256, width), torch.randn(256, 10)
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(x), y).backward()
            opt.step()
    return {k: v.detach().contiguous().clone() for k, v in m.state_dict().items()}


def save(sd: dict, path: Path) -> Path:
    import numpy as np
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        save_file(sd, str(path))
    elif path.suffix == ".npz":
        np.savez(path, **{k: v.numpy() for k, v in sd.items()})
    else:
        torch.save(sd, path)
    return path


def make_zoo(root: Path, n: int, width: int = 32, corrupt: bool = True) -> list[Path]:
    """``n`` fresh tiny models cycling through .safetensors / .pt / .npz (+ one corrupt .safetensors)."""
    exts = (".safetensors", ".pt", ".npz")
    paths = [save(tiny_state(i, width), root / f"m{i:03d}{exts[i % 3]}") for i in range(n)]
    if corrupt:
        bad = root / "corrupt.safetensors"
        bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
        paths.append(bad)
    return paths
