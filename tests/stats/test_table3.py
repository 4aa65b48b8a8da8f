"""Table 3's mean |Z| weights every (tensor, non-constant fraction bit) equally: a hand-computed case."""
import pytest

from paramstat.stats.table3 import aggregate_layer_types

V = ("trained", "untrained", "undetermined", "skipped")


def g(mx, mean, nconst=0):
    return {"max_abs_z": mx, "mean_abs_z": mean, "n_constant": nconst}


def test_mean_abs_z_per_bit_not_per_layer():
    a = {"frac_0_7": g(3.0, 1.0), "frac_8_15": g(2.0, 2.0, nconst=6), "frac_16_22": g(1.0, 4.0, nconst=7)}  # 8+2+0
    b = {"frac_0_7": g(5.0, 3.0, nconst=6), "frac_8_15": g(1.0, 5.0), "frac_16_22": g(2.0, 1.0)}  # 2+8+7
    rows = aggregate_layer_types([("FC weight", "untrained", "float32", a), ("BN weight", "trained", "float32", None),
                                  ("FC weight", "trained", "float32", b), ("FC weight", "skipped", "float32", None)],
                                 V, order=("BN weight", "FC weight"))
    assert [r.layer_type for r in rows] == ["BN weight", "FC weight"]
    fc = rows[1]
    assert fc.n_layers == 2 and fc.counts == {"trained": 1, "untrained": 1, "skipped": 1}
    assert fc.group_labels == ["frac 0-7", "frac 8-15", "frac 16-22"] and fc.group_max_z == [5.0, 2.0, 2.0]
    per_bit = (1.0 * 8 + 2.0 * 2 + 3.0 * 2 + 5.0 * 8 + 1.0 * 7) / (8 + 2 + 2 + 8 + 7)
    assert fc.mean_abs_z == pytest.approx(per_bit)
    per_layer = ((1.0 * 8 + 2.0 * 2) / 10 + (3.0 * 2 + 5.0 * 8 + 1.0 * 7) / 17) / 2
    assert abs(fc.mean_abs_z - per_layer) > 0.2  # the other definition (mean of layer means) differs here
    assert rows[0].mean_abs_z is None and rows[0].to_dict()["max_abs_z"]["frac 0-7"] is None
