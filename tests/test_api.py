"""The top-level API stays callable after its submodules are imported (`paramstat.compare` is a package and a
function; `paramstat.scan` is the verdict stage's function, with no shim module of its own)."""
import importlib

import torch

import paramstat


def test_scan_and_compare_callable_after_submodule_import():
    import pytest

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("paramstat.scan")
    importlib.import_module("paramstat.verdict.stream")
    importlib.import_module("paramstat.compare.core")
    torch.manual_seed(0)
    a, b = torch.nn.Linear(64, 32), torch.nn.Linear(64, 32)
    for _ in range(2):
        assert paramstat.compare(a, a, progress=False).relation == "identical"
    assert paramstat.compare(a, b, progress=False).relation == "independent"
    from paramstat.verdict import scan

    assert paramstat.scan is scan
    res = paramstat.scan(torch.nn.Sequential(torch.nn.BatchNorm1d(8)), progress=False)
    assert {t.name: t.verdict for t in res.tensors}["0.weight"] == "untrained"  # exactly 1.0 = its init


def test_help_is_fast_and_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, paramstat.cli as c; c.build_parser().format_help(); "
            "print(','.join(m for m in ('torch','timm','scipy','h5py','matplotlib','pandas','numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
