"""paramstat.stats.shapes against the libraries' own code: torch's fans, timm's goog fan_out."""
import numpy as np
import pytest
import torch
from torch import nn

from paramstat.stats.shapes import as_matrix, goog_fan_out, kernel_size, squeezed_matrix, torch_fans


@pytest.mark.parametrize("shape", [(3, 4), (8, 4, 3, 3), (8, 1, 5, 5), (6, 2, 3), (4, 2, 1, 1), (5, 3, 2, 2, 2)])
def test_torch_fans_match_torch(shape):
    assert torch_fans(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_torch_fans_1d_none():
    assert torch_fans((7,)) == (None, None)


@pytest.mark.slow
@pytest.mark.parametrize("cin,cout,k,g", [(8, 16, 3, 1), (8, 8, 3, 8), (8, 16, 5, 4), (4, 12, 1, 2)])
def test_goog_fan_out_matches_timm(cin, cout, k, g, monkeypatch):
    from timm.models._efficientnet_builder import _init_weight_goog

    conv = nn.Conv2d(cin, cout, k, groups=g)
    calls = []
    monkeypatch.setattr(nn.init, "normal_", lambda w, mean, std: calls.append(std))
    _init_weight_goog(conv)
    fan_out = goog_fan_out(tuple(conv.weight.shape), g)
    assert calls and calls[0] == pytest.approx(np.sqrt(2.0 / fan_out))


@pytest.mark.parametrize("shape,k", [((4,), 1), ((3, 4), 1), ((8, 4, 3, 3), 3), ((8, 4, 5), 5), ((2, 2, 7, 7, 7), 7)])
def test_kernel_size(shape, k):
    assert kernel_size(shape) == k


def test_matrix_views():
    w = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3)
    assert as_matrix(w).shape == (2, 27) and np.array_equal(as_matrix(w).ravel(), w.ravel())
    assert as_matrix(np.ones(5)).shape == (1, 5)
    one = np.ones((1, 6, 1, 1))
    assert as_matrix(one).shape == (1, 6) and squeezed_matrix(one).shape == (1, 6)
    dw = np.ones((4, 1, 3, 3))
    assert as_matrix(dw).shape == (4, 9) and squeezed_matrix(dw).shape == (4, 9)
    col = np.ones((6, 1))
    assert as_matrix(col).shape == (6, 1) and squeezed_matrix(col).shape == (1, 6)
