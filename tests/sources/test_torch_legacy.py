"""The legacy (non-zip) torch pickle reader (sources/readers/torch_legacy.py) against torch.load itself:
the same bits for every dtype, shared storages, offsets and strides; and, in a fresh process, a 3 MB
legacy file loads and reads in under a second (it needs no torch import)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import paramstat


def _state() -> dict:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 96, generator=g)
    return {
        "conv.weight": torch.randn(256, 256, 3, 3, generator=g),           # 590k float32 values: 2.4 MB
        "fc.weight": torch.randn(512, 512, generator=g).half(),            # float16
        "emb.weight": torch.randn(1000, 256, generator=g).to(torch.bfloat16),
        "fc.bias": torch.randn(512, generator=g).double(),
        "bn.num_batches_tracked": torch.tensor(7),
        "idx": torch.arange(100, dtype=torch.int64),
        "mask": torch.rand(40, generator=g) > 0.5,
        "shared.a": base,                                                   # two views of one storage ...
        "shared.b": base[8:40],                                             # ... one at an offset
        "strided": base.t(),                                                # a transposed view
        "step": base[:, ::3],                                               # a strided slice
    }


@pytest.fixture(scope="module")
def legacy_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("legacy") / "model.th"
    torch.save(_state(), p, _use_new_zipfile_serialization=False)
    return p


def test_legacy_file_is_read_without_torch_load_and_bit_identical(legacy_file):
    ref = torch.load(legacy_file, map_location="cpu", weights_only=True)
    ck = paramstat.load(str(legacy_file))
    assert ck.format == "torch" and [r.name for r in ck.records] == list(ref)
    for r in ck.records:
        t = ref[r.name].contiguous()
        want = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()
        got = np.asarray(r.read())
        assert tuple(got.shape) == tuple(t.shape), r.name
        assert got.tobytes() == want.tobytes(), r.name                    # the same bits, in C order


def test_legacy_reader_refuses_a_truncated_file(legacy_file, tmp_path):
    cut = tmp_path / "cut.th"
    cut.write_bytes(legacy_file.read_bytes()[: legacy_file.stat().st_size - 1000])
    with pytest.raises(paramstat.ParamstatError, match="truncated|corrupt"):
        ck = paramstat.load(str(cut))
        for r in ck.records:
            r.read()


@pytest.mark.slow
def test_a_3mb_legacy_file_loads_in_under_a_second(legacy_file):
    assert 2.5e6 < legacy_file.stat().st_size < 4e6
    code = ("import sys, time; t = time.perf_counter(); import paramstat; ck = paramstat.load(sys.argv[1]); "
            "[r.read() for r in ck.records]; print(time.perf_counter() - t, 'torch' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code, str(legacy_file)], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(3)]
    best = min(float(s) for s, _ in runs)
    assert all(imported == "False" for _, imported in runs)               # no torch import at all
    assert best < 1.0, f"best of 3: {best:.2f} s"
