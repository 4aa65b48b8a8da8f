"""The one place the HTML pages import paramstat internals from (the integrator's seam: when the verdict /
stats packages move, only these imports change). Everything the pages draw comes through here."""
from __future__ import annotations

from ...compare.core import CompareResult, TensorDiff  # noqa: F401
from ...verdict.plotdata import (  # noqa: F401
    HistData,
    PlotData,
    SpectrumData,
    choose_plot_tensors,
    plot_data,
)
from ...verdict.results import ScanResult  # noqa: F401

__all__ = ["CompareResult", "TensorDiff", "HistData", "PlotData", "ScanResult", "SpectrumData",
           "choose_plot_tensors", "plot_data", "scan_plot_data"]


def scan_plot_data(result: ScanResult) -> PlotData:
    """The figures' data for a scan: the chosen tensors' histograms with fitted pdfs and spectra, the
    per-bit runs Z (needs ``scan(..., keep_bits=True)``) and the score per tensor (paramstat.verdict.plotdata.plot_data)."""
    return plot_data(result, choose_plot_tensors(result))


def relation_color(label) -> str:
    """The colour of a compare relation label (the PNG plots' colours, paramstat.report.compare_plots)."""
    from ..compare_plots import _color

    return _color(label)
