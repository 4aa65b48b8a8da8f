"""Start-training runs: how many steps until a freshly initialized net reaches a target test accuracy.

``train_run`` trains one model (mini-batch SGD with momentum, or Adam; cross-entropy) and evaluates the
test accuracy at step 0, every ``eval_every`` steps and at the end of every epoch. ``steps_to_target``
is the first evaluated step with accuracy >= target (Hanin & Rolnick 2018 use 20% on MNIST), so its
resolution is ``eval_every``; ``epochs_to_target = steps_to_target / steps_per_epoch``.
``start_train`` runs the grid inits x seeds for one architecture / activation / data set.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .archs import build_model
from .datasets import N_CLASSES, load_dataset
from .inits import init_model


@dataclass
class RunResult:
    init: str
    seed: int
    steps_to_target: int | None
    epochs_to_target: float | None
    final_acc: float
    best_acc: float
    final_loss: float
    steps: int
    steps_per_epoch: int
    seconds: float
    diverged: bool
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, test accuracy)


@dataclass
class StartTrainResult:
    config: dict
    runs: list[RunResult]

    def summary(self) -> list[dict]:
        """Per init: runs, how many reached the target, median steps / epochs among those, final accuracy
        (mean and sample sd, ddof=1: the spread over seeds; 0 for a single run)."""
        out = []
        for init in dict.fromkeys(r.init for r in self.runs):
            rs = [r for r in self.runs if r.init == init]
            hit = [r for r in rs if r.steps_to_target is not None]
            out.append({
                "init": init, "runs": len(rs), "reached": len(hit),
                "median_steps": float(np.median([r.steps_to_target for r in hit])) if hit else None,
                "median_epochs": float(np.median([r.epochs_to_target for r in hit])) if hit else None,
                "mean_final_acc": float(np.mean([r.final_acc for r in rs])),
                "std_final_acc": float(np.std([r.final_acc for r in rs], ddof=1)) if len(rs) > 1 else 0.0,
            })
        return out

    def to_dict(self) -> dict:
        return {"config": self.config, "summary": self.summary(), "runs": [asdict(r) for r in self.runs]}


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    was = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, X.shape[0], batch):
            out = model(X[i:i + batch])
            correct += int((out.argmax(dim=1) == y[i:i + batch]).sum())
    model.train(was)
    return correct / max(1, X.shape[0])


def train_run(model: nn.Module, Xtr, ytr, Xte, yte, *, epochs: float = 5, batch_size: int = 64,
              lr: float = 0.01, optim: str = "sgd", momentum: float = 0.9, target: float = 0.2,
              eval_every: int | None = None, seed: int = 0, stop_at_target: bool = False,
              callback: Callable[[int, nn.Module], None] | None = None, init: str = "?",
              eval_steps: Sequence[int] = ()) -> RunResult:
    """Train ``model`` on (Xtr, ytr) and track test accuracy. ``epochs`` may be fractional.
    ``eval_steps``: extra steps to evaluate at. ``callback(step, model)`` runs at every evaluation
    (e.g. to scan the weights)."""
    Xtr, Xte = torch.as_tensor(Xtr), torch.as_tensor(Xte)
    ytr, yte = torch.as_tensor(ytr, dtype=torch.long), torch.as_tensor(yte, dtype=torch.long)
    n = Xtr.shape[0]
    spe = max(1, math.ceil(n / batch_size))
    total = max(1, int(round(epochs * spe)))
    eval_every = eval_every or max(1, spe // 4)
    extra = set(eval_steps)
    if optim == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    elif optim == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optim!r}")
    g = torch.Generator().manual_seed(10_000 + seed)
    t0 = time.perf_counter()
    curve = [(0, accuracy(model, Xte, yte))]
    if callback:
        callback(0, model)
    hit = 0 if curve[0][1] >= target else None
    loss_v, diverged, step = math.nan, False, 0
    model.train()
    perm = torch.randperm(n, generator=g)
    while step < total and not (stop_at_target and hit is not None):
        pos = (step % spe) * batch_size
        if pos == 0 and step > 0:
            perm = torch.randperm(n, generator=g)
        idx = perm[pos:pos + batch_size]
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        step += 1
        loss_v = float(loss.detach())
        if not math.isfinite(loss_v):
            diverged = True
        if step % eval_every == 0 or step % spe == 0 or step == total or diverged or step in extra:
            acc = accuracy(model, Xte, yte)
            curve.append((step, acc))
            if callback:
                callback(step, model)
            if hit is None and acc >= target:
                hit = step
        if diverged:
            break
    accs = [a for _, a in curve]
    return RunResult(init=init, seed=seed, steps_to_target=hit, epochs_to_target=None if hit is None else hit / spe,
                     final_acc=accs[-1], best_acc=max(accs), final_loss=loss_v, steps=step, steps_per_epoch=spe,
                     seconds=time.perf_counter() - t0, diverged=diverged, curve=curve)


def start_train(arch: str, *, act: str = "relu", data: str = "digits", inits: Sequence[str] = ("kaiming_normal",),
                seeds: Sequence[int] = (0,), target: float = 0.2, epochs: float = 5, batch_size: int = 64,
                lr: float = 0.01, optim: str = "sgd", n_train: int | None = None, n_test: int | None = None,
                eval_every: int | None = None, profile=None, stop_at_target: bool = False,
                progress: Callable | None = None, callback=None) -> StartTrainResult:
    """Train ``arch`` with every init x seed; same data, same batch order per seed across inits.
    MLP specs get flattened inputs. ``progress(iterable, total, description)`` wraps the run loop."""
    flatten = arch.startswith("mlp")
    Xtr, ytr = load_dataset(data, "train", n=n_train, flatten=flatten)
    Xte, yte = load_dataset(data, "test", n=n_test, flatten=flatten)
    in_shape = Xtr.shape[1:]
    grid = [(i, s) for s in seeds for i in inits]
    it = progress(grid, len(grid), f"starttrain {arch}") if progress else grid
    runs = []
    for init, seed in it:
        model = build_model(arch, in_shape, N_CLASSES[data], act, seed=seed)
        init_model(model, init, seed=seed, data=torch.as_tensor(Xtr[:256]), profile=profile)
        cb = (lambda step, m, init=init, seed=seed: callback(init, seed, step, m)) if callback else None
        runs.append(train_run(model, Xtr, ytr, Xte, yte, epochs=epochs, batch_size=batch_size, lr=lr, optim=optim,
                              target=target, eval_every=eval_every, seed=seed, stop_at_target=stop_at_target,
                              callback=cb, init=init))
    config = {"arch": arch, "act": act, "data": data, "inits": list(inits), "seeds": list(seeds), "target": target,
              "epochs": epochs, "batch_size": batch_size, "lr": lr, "optim": optim,
              "n_train": int(Xtr.shape[0]), "n_test": int(Xte.shape[0]), "eval_every": eval_every,
              "profile": None if profile is None else str(profile)}
    return StartTrainResult(config=config, runs=runs)
