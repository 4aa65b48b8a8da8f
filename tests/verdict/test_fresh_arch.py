"""scripts/repro/fresh_arch_check.py: fresh models of >= 50 architectures from five libraries, truth `untrained`.
The full run (every library, ~11 min) is the script's; here: its lists, its summaries on synthetic rows, and
the torch.nn part end to end (slow)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fac(load_script):
    return load_script("scripts/repro/fresh_arch_check.py")


def test_five_libraries_and_at_least_50_architectures(fac):
    names = {("torch.nn", n) for n, *_ in fac._nn_models()} | {("torchvision", a) for a, *_ in fac.TV}
    names |= {("timm", a) for a, *_ in fac.TIMM} | {("Keras", a) for a, _ in fac.KERAS_APPS + fac.KERAS_SMALL}
    names |= {("transformers", n) for n, *_ in fac._hf_models()}
    libs = {lib for lib, _ in names}
    assert libs == {"torch.nn", "torchvision", "timm", "transformers", "Keras"}
    assert len(names) >= 90 and all(sum(lib == x for x, _ in names) >= 10 for lib in libs)
    assert fac.SEED not in (0, 1, 2, 3, 5, 7, 11, 12) and not 100 <= fac.SEED < 1100   # the zoo's seeds


def test_summaries_count_files_and_big_tensors(fac):
    rows = [dict(library="timm", family="vit", arch="a", verdict="untrained", big=10, big_trained=1,
                 big_undetermined=2, big_untrained=7, trained_names=["x.weight"], file="a", format="safetensors",
                 params=5, score=0.1),
            dict(library="timm", family="cnn", arch="b", verdict="mixed", big=5, big_trained=0, big_undetermined=0,
                 big_untrained=5, trained_names=[], file="b", format="safetensors", params=3, score=0.6)]
    assert fac.summarise(rows, lambda r: r["library"]) == [("timm", 2, 1, 15, 1, 2)]
    md = fac.markdown(rows, "note", 1.0)
    assert "**1 of 2 files `untrained`; tensors of >= 256 values called trained: 1 of 15 (6.67%)" in md
    assert "| timm | b | cnn | safetensors | 3 | **mixed** ✗ |" in md and "`x.weight`" in md


@pytest.mark.slow
def test_fresh_torch_nn_models_are_untrained_tensor_by_tensor(fac, tmp_path):
    rows = [fac.scan(*item) for item in fac.build_nn(tmp_path)]
    assert len(rows) == 14
    assert [r["arch"] for r in rows if r["verdict"] != "untrained"] == []
    assert sum(r["big"] for r in rows) >= 150 and sum(r["big_trained"] for r in rows) == 0
