"""nn.RNN / LSTM / GRU: torch draws every weight and bias from U(+-1/sqrt(hidden_size)); with
``hidden_size`` the signature's default candidate is that law (KS against torch's own draws)."""
import numpy as np
import pytest
import torch
from scipy import stats

from paramstat.stats.signatures import init_signatures


@pytest.mark.parametrize("cls", [torch.nn.GRU, torch.nn.LSTM, torch.nn.RNN])
def test_rnn_law_from_torch_draws(cls):
    torch.manual_seed(0)
    hidden = 64
    m = cls(input_size=8, hidden_size=hidden)
    b = 1 / np.sqrt(hidden)
    for name in ("weight_ih_l0", "bias_ih_l0"):
        x = getattr(m, name).detach().double().numpy()
        fan_in = 8 if x.ndim == 1 else x.shape[1]
        rep = init_signatures(x, fan_in=fan_in, hidden_size=hidden)
        assert rep.best == "pytorch_rnn", (name, rep.best)
        ks = stats.kstest(x.reshape(-1), stats.uniform(-b, 2 * b).cdf).statistic
        assert rep.get("pytorch_rnn").distance == pytest.approx(ks, rel=1e-9)
        assert rep.get("pytorch_rnn").scale_ratio == pytest.approx(1.0, abs=0.1)
        assert rep.get("pytorch_default") is None and rep.get("pytorch_default_bias") is None
        # without hidden_size the fan_in law U(+-1/sqrt 8) is wrong by a factor sqrt(64/8)
        old = init_signatures(x, fan_in=fan_in)
        d_old = old.get("pytorch_default" if x.ndim == 2 else "pytorch_default_bias").distance
        assert d_old > 0.3 > rep.distance
