"""The start-training lab: offline data sets (digits, MNIST-5k, Shapeset-3x2), model specs, FM1/FM2
probes and start-training runs. See docs/LAB.md.

- ``datasets.load_dataset(name, split, n=, seed=, flatten=)`` -> (X float32, y int64)
- ``shapeset.generate(n, seed=0, size=32)`` -> (X in [-1, 1], y in 0..8)
- ``archs.build_model(spec, in_shape, n_classes, act)``
- ``probe.probe(model, X, y)`` -> ProbeResult (M_j, Var M_j, beta, saturation, gradient variances)
- ``train.start_train(...)`` -> steps / epochs to a target test accuracy
"""
