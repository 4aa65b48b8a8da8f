"""BLAS thread limits for the statistics' small linear algebra (threadpoolctl, when installed).

``limit(n)`` is a context that runs BLAS with at most ``n`` threads (``None``: as configured). On a shared
2-core machine one BLAS thread was 3-30x faster than two for the spectra's Gram matrices (spin-waiting
threads under contention), and a 32k-value ``np.dot`` in stats.moments took 0.39 ms on average with two
threads against 0.008 ms with one (load average 4.5: the second thread's stalls). One controller per
process (threadpoolctl inspects the loaded libraries once).
"""
from __future__ import annotations

import contextlib

_CONTROLLER = None


def limit(n_threads: int | None = 1):
    """Context limiting BLAS to ``n_threads`` threads; a no-op without threadpoolctl or for None."""
    global _CONTROLLER
    if n_threads is None:
        return contextlib.nullcontext()
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=n_threads, user_api="blas")
    except Exception:  # noqa: BLE001 - an unusual BLAS setup must not stop a scan
        return contextlib.nullcontext()
