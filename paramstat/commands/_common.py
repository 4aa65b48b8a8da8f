"""Arguments shared by commands that read a checkpoint."""
from __future__ import annotations

import argparse


def add_source_arguments(p: argparse.ArgumentParser, name: str = "source", nargs=None) -> None:
    p.add_argument(name, nargs=nargs, metavar=name.upper(),
                   help="timm model name, checkpoint file (.safetensors .pt .pth .bin .th .ckpt .npz .h5), "
                        "Hugging Face model folder, or sharded safetensors index")
    add_load_options(p)


def add_load_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fresh", action="store_true",
                   help="timm name: build the model with pretrained=False (its own init) instead of downloading")
    p.add_argument("--seed", type=int, default=0, help="seed for --fresh (default 0)")
    p.add_argument("--model", metavar="NAME", default=None,
                   help="architecture (timm name) that gives layer roles to weights from --checkpoint/SOURCE")
    p.add_argument("--checkpoint", metavar="FILE", default=None, help="weights file for --model")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow pickles that need arbitrary code (runs code from the file: only for files you trust)")


def load_from_args(args, source: str | None = None):
    """Call paramstat.load with the shared options."""
    from ..sources import load

    src = source if source is not None else getattr(args, "source", None)
    return load(src, fresh=args.fresh, seed=args.seed, model=args.model, checkpoint=args.checkpoint,
                trust_pickle=args.trust_pickle)
