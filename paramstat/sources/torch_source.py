"""PyTorch pickles (.pt .pth .bin .th .ckpt ...): always ``torch.load(weights_only=True)``.

A pickle that needs arbitrary code (a GLOBAL outside torch's allow-list, e.g. ``os.system`` in a
``__reduce__``) makes the safe unpickler stop before anything runs: we raise UnsafePickleError.
``trust_pickle=True`` loads with ``weights_only=False`` (runs the file's code) and says so on stderr.
Zip-format files are memory-mapped (``mmap=True``); legacy pickles are read whole.
"""
from __future__ import annotations

import pickle
import struct
import sys
import warnings as _warnings
import zipfile
from pathlib import Path

from ..errors import ParamstatError, UnsafePickleError

CORRUPT_HINT = "the file is truncated or corrupt: re-download it or check that the copy finished"


def _first_reason(msg: str) -> str:
    for line in msg.splitlines():
        s = line.strip()
        if s.startswith(("Trying to load unsupported", "Unsupported", "Weights only load failed:")) or \
                "GLOBAL" in s:
            return s[:160]
    return ""


def _is_torchscript(p: str) -> bool:
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def torch_load(path: str | Path, trust_pickle: bool = False):
    """The unpickled object. Raises ParamstatError (corrupt) or UnsafePickleError (needs code)."""
    import torch

    p = str(path)
    is_zip = zipfile.is_zipfile(p)
    if is_zip and _is_torchscript(p):
        if not trust_pickle:
            raise UnsafePickleError("refused: a TorchScript archive (torch.jit.save); paramstat reads it only with "
                                    "torch.jit.load", path=p, hint="pass --trust-pickle only if you trust the file")
        print(f"paramstat: warning: {p}: loading a TorchScript archive with torch.jit.load (--trust-pickle)",
              file=sys.stderr)
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")  # torch 2.9+: FutureWarning (jit is deprecated)
                return dict(torch.jit.load(p, map_location="cpu").state_dict())
        except RuntimeError as e:
            raise ParamstatError(f"cannot read the TorchScript archive ({str(e).splitlines()[0][:120]})", path=p,
                                 hint=CORRUPT_HINT) from e
    if trust_pickle:
        print(f"paramstat: warning: {p}: loading with --trust-pickle (weights_only=False): this runs any code "
              "the file contains", file=sys.stderr)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=not trust_pickle, mmap=is_zip)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if not trust_pickle and "Weights only load failed" in msg:
            reason = _first_reason(msg)
            if "GLOBAL" in reason:
                raise UnsafePickleError(f"refused: this pickle needs arbitrary code to load ({reason})",
                                        path=p, hint="pass --trust-pickle only if you trust the file") from e
            if "Unsupported" in reason:
                raise UnsafePickleError(
                    f"refused: the safe loader (weights_only) cannot read this pickle ({reason}; not written "
                    "by torch.save?)", path=p, hint="pass --trust-pickle only if you trust the file") from e
        raise ParamstatError(f"corrupt pickle ({msg.splitlines()[0][:120]})", path=p, hint=CORRUPT_HINT) from e
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, struct.error, AttributeError,
            ImportError, UnicodeDecodeError, zipfile.BadZipFile, OSError, TypeError) as e:
        first = (str(e).splitlines() or [""])[0].split(". ")[0][:120]
        raise ParamstatError(f"cannot read as a PyTorch checkpoint ({type(e).__name__}: {first})", path=p,
                             hint=CORRUPT_HINT) from e

