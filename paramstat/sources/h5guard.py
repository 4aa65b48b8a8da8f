"""h5py's errors on a corrupt HDF5 file (addresses past the end, broken B-trees, bad object headers) as one
ParamstatError naming the file: every HDF5 reader walks its file inside ``corrupt_guard``."""
from __future__ import annotations

from contextlib import contextmanager

from ..errors import ParamstatError

# what h5py raises while a corrupt file is opened or walked (found by tests/hostile/test_fuzz.py)
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


@contextmanager
def corrupt_guard(path: str, what: str, hint: str):
    try:
        yield
    except H5_ERRORS as e:
        first = (str(e).splitlines() or [""])[0][:120]
        raise ParamstatError(f"corrupt {what} ({type(e).__name__}: {first})", path=path, hint=hint) from e
