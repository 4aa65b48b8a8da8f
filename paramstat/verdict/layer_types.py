"""The verdict stage's vocabulary for the seed's Table 3: the verdict names and the order of the layer
types. The layer type of a tensor ('Conv weight', 'BN bias', ...) is decided in paramstat.sources.roles;
the aggregation (# layers, max |runs Z| per fraction group, mean |Z|) is paramstat.stats.table3's."""
from __future__ import annotations

from ..sources.roles import layer_type, layer_types
from ..stats import table3
from ..stats.table3 import LayerTypeRow

VERDICTS = ("trained", "untrained", "undetermined", "skipped")
ORDER = ("Conv weight", "Conv bias", "DWConv weight", "DWConv bias", "FC weight", "FC bias",
         "Attn in-proj weight", "Attn in-proj bias", "Embedding", "Positional",
         "BN weight", "BN bias", "LN weight", "LN bias", "GN weight", "GN bias", "Norm weight", "Norm bias",
         "PReLU slope")

__all__ = ["ORDER", "VERDICTS", "LayerTypeRow", "aggregate_layer_types", "layer_type", "layer_types"]


def aggregate_layer_types(entries) -> list[LayerTypeRow]:
    """Table 3 rows from ``(layer_type, verdict, dtype, bits_summary | None)`` per tensor, with verdict
    counts in :data:`VERDICTS` order and layer types in :data:`ORDER` (paramstat.stats.table3)."""
    return table3.aggregate_layer_types(entries, VERDICTS, ORDER, skipped="skipped")
