"""Statistics engine: pure functions on numpy arrays, results as dataclasses with ``to_dict()``.

Modules: ``sampling`` (the one seeded subsample), ``shapes`` (fans, kernel size, matrix views),
``families`` (the fit families: parameters, fit, logpdf, cdf, frozen scipy object), ``fits`` (families
ranked by BIC), ``moments`` (plain and robust), ``bits`` (monobit + runs tests for every bit position),
``runs`` (Wald–Wolfowitz), ``table3`` (the per-layer-type table of runs |Z|), ``signatures`` (distance to
known initializers), ``spectral`` (Marchenko–Pastur edge, pdf, spikes, shuffle distance); numba kernels
behind ``_numba`` (one loader, one PARAMSTAT_NO_NUMBA switch) with the shared ``_popcount_nb``.
Never prints, never reads files.
"""
from .bits import BitTests, bit_groups, bit_tests, bit_tests_from_counts
from .fits import FAMILIES, FitReport, FitResult, fit_families
from .moments import Moments, moments
from .runs import RunsResult, axis_runs, pooled_runs, runs_test, runs_z_from_counts, value_runs
from .signatures import SigMatch, SignatureReport, init_signatures
from .spectral import Spectral, spectral

__all__ = [
    "BitTests", "bit_groups", "bit_tests", "bit_tests_from_counts",
    "FAMILIES", "FitReport", "FitResult", "fit_families",
    "Moments", "moments",
    "RunsResult", "axis_runs", "pooled_runs", "runs_test", "runs_z_from_counts", "value_runs",
    "SigMatch", "SignatureReport", "init_signatures",
    "Spectral", "spectral",
]
