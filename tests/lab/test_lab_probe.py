"""Probes (FM1 / FM2, saturation, gradients) and start-training runs, against hand-computed oracles."""
import json
import math

import numpy as np
import pytest
import torch

from paramstat.errors import ParamstatError
from paramstat.lab.archs import MLP, build_model, find_probe_points, mlp_widths
from paramstat.lab.probe import probe, probe_spec, random_batch

torch.set_num_threads(1)


def test_M_and_M_var_match_numpy_on_identity_net():
    # linear activations, identity weights, zero bias: act_j = x for every layer, so M_j(x) = ||x||^2 / n
    m = MLP([6, 6, 6, 6], act="linear")
    with torch.no_grad():
        for lin in m.linears:
            lin.weight.copy_(torch.eye(6))
            lin.bias.zero_()
    X = random_batch((6,), 32, seed=4)
    r = probe(m, X)
    Mx = (X.double() ** 2).mean(dim=1).numpy()
    assert len(r.layers) == 3
    for lp in r.layers:
        assert lp.M == pytest.approx(Mx.mean(), rel=1e-6)
        assert lp.M_var == pytest.approx(Mx.var(), rel=1e-5)
        assert lp.log_ratio_std == pytest.approx(0.0, abs=1e-6)
        assert lp.tiny_frac == 0.0
    assert r.M0 == pytest.approx(Mx.mean(), rel=1e-6)
    assert r.beta == pytest.approx(2 / 6)


def test_relu_halves_M_and_gradient_variance_oracle():
    # one hidden ReLU layer: M_1 = mean(relu(Wx+b)^2); dL/dW from autograd on a copy
    torch.manual_seed(0)
    m = MLP([5, 7, 3], act="relu")
    X, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    r = probe(m, X, y)
    with torch.no_grad():
        h = torch.relu(X @ m.linears[0].weight.T + m.linears[0].bias)
    assert r.layers[0].M == pytest.approx(float((h.double() ** 2).mean()), rel=1e-5)
    assert r.layers[0].sat_frac == pytest.approx(float((h == 0).float().mean()))
    # gradient oracle
    W0 = m.linears[0].weight.detach().clone().requires_grad_(True)
    hh = torch.relu(X @ W0.T + m.linears[0].bias.detach())
    hh.retain_grad()
    out = hh @ m.linears[1].weight.detach().T + m.linears[1].bias.detach()
    torch.nn.functional.cross_entropy(out, y).backward()
    assert r.layers[0].wgrad_var == pytest.approx(float(W0.grad.double().var(unbiased=False)), rel=1e-5)
    assert r.layers[0].grad_var == pytest.approx(float(hh.grad.double().var(unbiased=False)), rel=1e-5)


def test_sigmoid_saturation_with_large_weights():
    m = MLP([20, 50, 2], act="sigmoid")
    with torch.no_grad():
        m.linears[0].weight.normal_(0, 10.0)
    r = probe(m, random_batch((20,), 64))
    assert r.layers[0].sat_frac > 0.8  # |Wx| ~ 45: nearly every unit at 0 or 1
    m2 = MLP([20, 50, 2], act="sigmoid")
    with torch.no_grad():
        m2.linears[0].weight.normal_(0, 0.01)
    assert probe(m2, random_batch((20,), 64)).layers[0].sat_frac == 0.0


def test_beta_of_width_pattern():
    r = probe_spec("mlp:784,20,60,20,60,10", init="xavier_uniform", data="random", batch=8)
    assert r.beta == pytest.approx(1 / 20 + 1 / 60 + 1 / 20 + 1 / 60)
    assert [lp.width for lp in r.layers] == [20, 60, 20, 60, 10]
    assert mlp_widths("mlp:3x5", 64, 10) == [64, 5, 5, 5, 10]
    with pytest.raises(ParamstatError, match="expects 784 inputs"):
        mlp_widths("mlp:784,10", 64, 10)


def _final_ratio(depth, init, seeds=range(6), batch=64):
    out = []
    for s in seeds:
        r = probe_spec(f"mlp:{depth}x{depth}", init=init, data="random", batch=batch, seed=s)
        out.append(r.layers[-2].M / r.M0)  # last hidden layer
    return np.array(out)


def test_fm1_fan_in_1_shrinks_geometrically_he_stays():
    # Var(W) = 1/fan_in with ReLU halves M per layer: log M_d ~ -d log 2 (Hanin & Rolnick 2018, FM1)
    lo10 = np.log(_final_ratio(10, "fan_in_1")).mean()
    lo30 = np.log(_final_ratio(30, "fan_in_1")).mean()
    slope = (lo30 - lo10) / 20
    assert -math.log(2) * 1.3 < slope < -math.log(2) * 0.7
    # He: E[M_d] = M_0 at any depth; the mean over seeds stays within a factor 10 at depth 50
    he50 = _final_ratio(50, "he_normal", seeds=range(8))
    assert 0.1 < he50.mean() < 10
    # and 2x He grows geometrically (x2 per layer)
    hi10 = np.log(_final_ratio(10, "he_2x")).mean()
    assert hi10 > 4  # ~ 10 log 2 = 6.9


def _pooled_log_var(spec, seeds=range(10)):
    """Var of log(M_d / M_0) pooled over weight seeds and 128 N(0, I) inputs each."""
    means, sds = [], []
    for s in seeds:
        lp = probe_spec(spec, init="he_normal", data="random", batch=128, seed=s).layers[-2]
        means.append(lp.log_ratio_mean)
        sds.append(lp.log_ratio_std)
    return float(np.mean(np.square(sds)) + np.var(means))


def test_fm2_equal_beta_equal_spread_larger_beta_larger_spread():
    # Hanin & Rolnick FM2: the spread of log M_d is set by beta = sum 1/n_j, not by the width pattern
    const = _pooled_log_var("mlp:10x20")                                  # beta = 0.5
    alt = _pooled_log_var("mlp:20," + ",".join(["14", "40"] * 5) + ",10")  # beta = 0.48, alternating
    wide = _pooled_log_var("mlp:10x80")                                   # beta = 0.125
    assert 0.6 < const / alt < 1.7
    assert wide < 0.5 * min(const, alt)
    # Var log M_d ~ 5 beta for ReLU (measured: 5.1-7.5 beta, see docs/LAB.md)
    assert 2 * 0.5 < const < 12 * 0.5


def test_probe_points_for_builtins_and_timm():
    cnn = build_model("cnn", (1, 8, 8), 10)
    assert [type(p).__name__ for p in find_probe_points(cnn)] == ["ReLU", "ReLU", "ReLU", "Linear"]
    res = build_model("resnet:1x4", (1, 16, 16), 9)
    r = probe(res, random_batch((1, 16, 16), 4))
    assert r.layers[0].width == 4 * 16 * 16 and r.layers[-1].width == 9
    t = build_model("resnet10t", (1, 32, 32), 5)
    r = probe(t, random_batch((1, 32, 32), 4))
    assert r.layers[-1].width == 5 and len(r.layers) > 5


def test_cli_probe_json(capsys):
    from paramstat.cli import main

    assert main(["probe", "mlp:4x8", "--init", "he_normal", "--batch", "16", "--json", "-"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["beta"] == pytest.approx(4 / 8)
    assert [lp["index"] for lp in d["layers"]] == [0, 1, 2, 3, 4]
    assert {"index", "width", "M", "M_var"} <= set(d["layers"][0])
    assert main(["probe", "mlp:4x8", "--batch", "1"]) == 2


def test_train_reaches_target_and_fan_in_1_fails_deep():
    from paramstat.lab.train import start_train

    r = start_train("mlp:64,32,10", data="digits", inits=["he_normal"], seeds=[0], epochs=3, lr=0.05)
    run = r.runs[0]
    assert run.steps_to_target is not None and run.final_acc > 0.6
    assert run.epochs_to_target == pytest.approx(run.steps_to_target / run.steps_per_epoch)
    assert run.curve[0][0] == 0
    deep = start_train("mlp:30x30", data="digits", inits=["fan_in_1"], seeds=[0], epochs=2, n_train=640)
    assert deep.runs[0].steps_to_target is None and deep.runs[0].best_acc < 0.2
    s = deep.summary()[0]
    assert s["reached"] == 0 and s["median_steps"] is None


def test_cli_starttrain_json(tmp_path, capsys):
    from paramstat.cli import main

    out = tmp_path / "r.json"
    assert main(["starttrain", "--arch", "mlp:2x16", "--inits", "he_normal,xavier_uniform", "--seeds", "0",
                 "--epochs", "1", "--json", str(out), "--plots", str(tmp_path)]) == 0
    d = json.loads(out.read_text())
    assert [s["init"] for s in d["summary"]] == ["he_normal", "xavier_uniform"]
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert main(["starttrain", "--inits", "nonsense"]) == 2


def test_glorot_standard_init_shrinks_backprop_gradients_normalized_does_not():
    # Glorot & Bengio 2010 Fig. 6-7: with U(+-1/sqrt(n)) the back-propagated gradients shrink toward the input
    # (and activations shrink with depth); the normalized init keeps them near constant; sigmoid is worst.
    arch = "mlp:1024,256,256,256,256,256,9"

    def stats(act, init):
        r = probe_spec(arch, init=init, act=act, data="shapeset", batch=64)
        h = r.layers[:-1]
        return h[0].grad_var / h[-1].grad_var, h[-1].act_std / h[0].act_std

    g_std, a_std = stats("tanh", "default")
    g_n, a_n = stats("tanh", "xavier_uniform")
    assert g_std < 0.05 and g_n > 0.2
    assert a_std < 0.3 and a_n > 0.5
    g_sig, _ = stats("sigmoid", "default")
    assert g_sig < g_std / 100


def test_lsuv_through_probe_gives_unit_variance_layers():
    # LSUV (Mishkin & Matas 2015) scales each layer to output variance 1 on the batch: with linear
    # activations and zero biases M_j = Var + mean^2 stays near 1 at every depth
    r = probe_spec("mlp:12x32", init="lsuv", act="linear", data="random", batch=128, seed=3)
    Ms = np.array([lp.M for lp in r.layers[:-1]])
    assert np.all((Ms > 0.75) & (Ms < 1.35)), Ms


def test_cli_probe_plots_and_errors(tmp_path):
    from paramstat.cli import main

    assert main(["probe", "cnn:4,8", "--data", "digits", "--batch", "8", "--plots", str(tmp_path)]) == 0
    assert (tmp_path / "probe.png").stat().st_size > 1000
    assert main(["probe", "cnn:4,8", "--data", "digits", "--batch", "8", "--plots", str(tmp_path)]) == 2  # exists
    assert main(["probe", "mlp:bad"]) == 2
    assert main(["probe", "mlp:3x3", "--init", "nonsense"]) == 2


def test_native_profile_from_our_trained_nets_through_starttrain(tmp_path):
    # the repro_native flow in miniature: train, fit a profile, start a new run from 'native'
    from paramstat.init import fit_profile
    from paramstat.lab.datasets import load_dataset
    from paramstat.lab.inits import init_model
    from paramstat.lab.train import start_train, train_run

    Xtr, ytr = load_dataset("digits", "train")
    Xte, yte = load_dataset("digits", "test")
    srcs = []
    for s in range(2):
        m = build_model("cnn:4,8", Xtr.shape[1:], 10, seed=s)
        init_model(m, "he_normal", seed=s)
        train_run(m, Xtr, ytr, Xte, yte, epochs=1, optim="adam", lr=3e-3, seed=s)
        srcs.append(m)
    prof = fit_profile(srcs)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(prof, default=float))
    r = start_train("cnn:4,8", data="digits", inits=["native", "he_normal"], seeds=[0], epochs=1, profile=str(path))
    assert [x.init for x in r.runs] == ["native", "he_normal"]
    nat = build_model("cnn:4,8", Xtr.shape[1:], 10, seed=0)
    init_model(nat, "native", seed=0, profile=str(path))
    he = build_model("cnn:4,8", Xtr.shape[1:], 10, seed=0)
    init_model(he, "he_normal", seed=0)
    # the native weights are new draws, not copies of a source net
    for src in srcs:
        assert not torch.equal(nat.convs[1].weight, src.convs[1].weight)
    assert not torch.equal(nat.convs[1].weight, he.convs[1].weight)
    # the profile reached the init: biases follow the trained nets' (He leaves them at 0)
    src_b = float(np.mean([float(m.convs[1].bias.detach().std()) for m in srcs]))
    assert float(he.convs[1].bias.detach().abs().max()) == 0.0
    assert 0.3 < float(nat.convs[1].bias.detach().std()) / src_b < 3


@pytest.mark.parametrize("init,c", [("fan_in_1", 1.0), ("he_normal", 2.0), ("he_2x", 4.0)])
def test_first_layer_M_matches_theory_with_random_inputs(init, c):
    """FM1 at layer 1 (Hanin & Rolnick 2018): x ~ N(0, I_n0) independent of W, W_ij ~ N(0, c/n0), bias 0
    (classic schemes zero it). Given x, z_i = w_i . x ~ N(0, c ||x||^2 / n0), and E relu(z)^2 = Var(z)/2, so
    E[M_1] = E[(1/n1) sum_i relu(z_i)^2] = (c/2) E||x||^2 / n0 = c/2 exactly: 0.5 / 1 / 2 for 1/n, He, 2x He.
    Sampling sd of the estimate (n0 = n1 = 256, B = 256, 5 seeds): per row the weight norm gives relative
    sd sqrt(2/n0) and the inputs ~ sqrt(5/(4B)); over 256 rows x 5 seeds ~ 0.3 %; the 3 % band is > 8 sd.
    Before the input batch had its own seed stream it repeated the first weight matrix's draws
    (correlation 0.996): M_1 was 1.39 / 2.78 / 5.56."""
    Ms, M0s = [], []
    for s in range(5):
        r = probe_spec("mlp:256,256,256,10", init=init, data="random", batch=256, seed=s)
        Ms.append(r.layers[0].M)
        M0s.append(r.M0)
    assert np.mean(M0s) == pytest.approx(1.0, rel=0.02)
    assert np.mean(Ms) == pytest.approx(c / 2, rel=0.03)


def test_random_batch_independent_of_seeded_weights():
    # the input batch and a weight init seeded with the same seed must not share draws
    g = torch.Generator().manual_seed(3)
    w = torch.empty(64, 100)
    torch.nn.init.kaiming_normal_(w, generator=g)
    X = random_batch((100,), 64, seed=3)
    r = np.corrcoef(w.flatten().numpy(), X.flatten().numpy())[0, 1]
    assert abs(r) < 0.05      # independent: sd 1/sqrt(6400) = 0.0125
    assert torch.equal(X, random_batch((100,), 64, seed=3))


def test_summary_sd_is_sample_sd_over_seeds():
    # the spread over seeds is a sample sd (ddof=1): oracle statistics.stdev
    import statistics

    from paramstat.lab.train import RunResult, StartTrainResult

    accs = [0.5, 0.7, 0.8, 0.95]
    runs = [RunResult(init="he_normal", seed=i, steps_to_target=None, epochs_to_target=None, final_acc=a,
                      best_acc=a, final_loss=1.0, steps=10, steps_per_epoch=10, seconds=0.0, diverged=False) for i, a in enumerate(accs)]
    s = StartTrainResult(config={}, runs=runs).summary()[0]
    assert s["std_final_acc"] == pytest.approx(statistics.stdev(accs), rel=1e-12)
    assert s["std_final_acc"] == pytest.approx(float(np.std(accs, ddof=1)), rel=1e-12)
    one = StartTrainResult(config={}, runs=runs[:1]).summary()[0]
    assert one["std_final_acc"] == 0.0
