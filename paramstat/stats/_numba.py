"""numba for every kernel: one switch, one lazy loader, one thread count, one threshold policy.

- ``PARAMSTAT_NO_NUMBA=1`` turns numba off everywhere (read at each call, so tests can set it): every
  kernel then takes its numpy path, which gives the same integer counts; float sums agree to rounding.
- ``load(module)`` imports a kernel module (``paramstat.stats._bitkernel_nb``,
  ``paramstat.compare._kernel_nb``) on first use; its njit functions use ``cache=True`` so machine code is
  compiled once and then read from numba's on-disk cache. A failed import (numba missing or broken)
  is remembered (``error(module)``) and the numpy path used.
- ``n_threads()``: the CPUs this process may run on (sched_getaffinity; os.cpu_count elsewhere).
- ``worth(n, ...)``: numba pays for its first-call cost (import + cache load ~0.5 s, a compile 2-6 s
  once) only for big arrays: at >= ``big`` values, or (``sticky``) once loaded and n >= ``small``, or
  once ``counted`` values already went through numpy beyond ``cumulative``. The callers' numbers:
  bit counts big 4M, cumulative 32M, sticky; the fused compare pass big 256k (its float sums differ
  from numpy's in the last bits, so the cut stays where the published numbers were made).
"""
from __future__ import annotations

import importlib
import os

ENV = "PARAMSTAT_NO_NUMBA"
_modules: dict[str, object] = {}
_errors: dict[str, str] = {}


def enabled() -> bool:
    """False when PARAMSTAT_NO_NUMBA=1."""
    return os.environ.get(ENV) != "1"


def load(module: str):
    """The imported kernel module, or None (switched off, numba missing or broken)."""
    if not enabled() or module in _errors:
        return None
    mod = _modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - numba missing or broken: numpy path
            _errors[module] = f"{type(exc).__name__}: {exc}"
            return None
        _modules[module] = mod
    return mod


def loaded(module: str) -> bool:
    return module in _modules and enabled()


def error(module: str) -> str | None:
    """Why ``module`` could not be loaded (None when it was, or was not tried)."""
    if not enabled():
        return f"{ENV}=1"
    return _errors.get(module)


def n_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def worth(n: int, *, big: int, small: int = 4096, sticky: bool = False, is_loaded: bool = False,
          counted: int = 0, cumulative: int | None = None) -> bool:
    """Whether an array of n values should take the numba path (module doc)."""
    if not enabled() or n < small:
        return False
    if n >= big or (sticky and is_loaded):
        return True
    return cumulative is not None and counted + n > cumulative
