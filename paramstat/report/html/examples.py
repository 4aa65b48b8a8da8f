"""The inputs of the example report pages (docs/REPORTS.md and the browser tests): a fine-tune whose head
changed shape, and zoo-page rows gathered from scan results plus an unreadable file."""
from __future__ import annotations

from pathlib import Path


def new_head_finetune(path: str, out: Path, classes: int = 10) -> Path:
    """The EfficientNet-Lite0 state dict at ``path`` with a fresh ``classes``-way head (PyTorch's Linear init,
    seed 0) and the last 1x1 conv nudged by 1% noise: a fine-tune whose head shape changed."""
    import torch

    sd = torch.load(path, map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    head = torch.nn.Linear(sd["_fc.weight"].shape[1], classes)
    sd["_fc.weight"], sd["_fc.bias"] = head.weight.detach().clone(), head.bias.detach().clone()
    w = sd["_conv_head.weight"]
    sd["_conv_head.weight"] = w + 0.01 * w.std() * torch.randn_like(w)
    torch.save(sd, out)
    return Path(out)


def zoo_rows(results, broken: str | Path, error: str) -> tuple[list[dict], dict[str, list[dict]]]:
    """Rows and per-checkpoint tensor lists for ``write_zoo_html`` from [(ScanResult, architecture), ...],
    and one failed row for the file ``broken`` with message ``error``."""
    rows, tensors = [], {}
    for res, arch in results:
        d = res.to_dict()
        rows.append({"source": d["source"], "format": d["format"], "architecture": arch, "verdict": d["verdict"],
                     "score": d["score"], "n_params": d["n_params"], "untrained": d["untrained"], "error": None})
        tensors[d["source"]] = [{"name": t["name"], "verdict": t["verdict"], "score": t["score"]}
                                for t in d["tensors"]]
    rows.append({"source": str(broken), "format": "torch", "architecture": None, "verdict": None, "score": None,
                 "n_params": None, "untrained": [], "error": error})
    return rows, tensors
