"""Checkpoint logic (paramstat.verdict.checkpoint) on real modules: torch.nn layers trained here on sklearn's
digits for a few hundred steps, and fresh layers from torch.nn's own init."""
from __future__ import annotations

import copy
import functools

import pytest
import torch

from paramstat.verdict import judge_checkpoint, scan
from paramstat.verdict.results import TensorVerdict


class DigitsNet(torch.nn.Module):
    """Two convs and a 10x4096 head: the fresh head is the largest matrix."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 64, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(64, 64, 1)
        self.head = torch.nn.Linear(64 * 8 * 8, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.head(x.flatten(1))


@functools.lru_cache(maxsize=1)
def _trained() -> DigitsNet:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(y)
    torch.manual_seed(0)
    net = DigitsNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(0, len(y), (128,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
        opt.step()
    acc = (net(X).argmax(1) == y).float().mean().item()
    assert acc > 0.9, acc
    return net


def _scan(m):
    return scan(m, progress=False, hash=False)


@pytest.mark.slow
def test_trained_body_with_fresh_largest_head_is_mixed():
    net = copy.deepcopy(_trained())
    torch.manual_seed(1)
    net.head.reset_parameters()          # torch.nn's own init for the new head
    res = _scan(net)
    v = {t.name: t for t in res.tensors}
    assert v["conv2.weight"].verdict == "trained" and v["conv2.weight"].score >= 0.95
    assert v["head.weight"].verdict == "untrained"
    assert res.verdict == "mixed", (res.verdict, res.score)
    assert "head.weight" in res.untrained and not any(n.startswith("conv") for n in res.untrained)
    assert any(e.feature == "exact_law" for e in v["head.weight"].evidence)   # the evidence that decided it


@pytest.mark.slow
def test_fully_trained_and_fully_fresh():
    res = _scan(_trained())
    assert res.verdict == "trained" and res.untrained == []
    torch.manual_seed(2)
    res = _scan(DigitsNet())
    assert res.verdict == "untrained" and res.untrained == []


def _tv(name, numel, verdict, score):
    return TensorVerdict(name, name, "linear", (numel,), "float32", 0, numel, verdict, score, [], {}, "matrix")


@pytest.mark.parametrize("big_p", [0.02, 0.04])   # thresholds.mixed = 0.05
def test_confident_pair_is_mixed_whatever_the_sizes(big_p):
    tvs = [_tv("a.weight", 600, "trained", 0.99), _tv("b.weight", 20_000, "trained", 0.97),
           _tv("head.weight", 1_000_000, "untrained", big_p)]
    v, _, names = judge_checkpoint(tvs)
    assert v == "mixed" and names == ["head.weight"]
    # a merely likely-trained matrix (P 0.85) beside it is not enough: untrained
    tvs = [_tv("a.weight", 600, "trained", 0.85), _tv("head.weight", 1_000_000, "untrained", big_p)]
    assert judge_checkpoint(tvs)[0] == "untrained"


def test_trained_never_hides_a_confident_untrained_matrix():
    tvs = [_tv("a.weight", 5_000_000, "trained", 0.99), _tv("b.weight", 300, "untrained", 0.02),
           _tv("c.weight", 4000, "trained", 0.99)]
    v, _, names = judge_checkpoint(tvs)
    assert v == "mixed" and names == ["b.weight"]
