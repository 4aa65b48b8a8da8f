"""``zoo summary`` and ``zoo query``: what a zoo database holds, as rich tables (or JSON)."""
from __future__ import annotations

from .store import ZooDB

VERDICT_COLS = ("trained", "untrained", "mixed", "undetermined")

SQL_BY = """
SELECT coalesce({col}, '—') AS {col}, count(*) AS n,
       count(*) FILTER (WHERE verdict = 'trained') AS trained,
       count(*) FILTER (WHERE verdict = 'untrained') AS untrained,
       count(*) FILTER (WHERE verdict = 'mixed') AS mixed,
       count(*) FILTER (WHERE verdict = 'undetermined') AS undetermined,
       count(*) FILTER (WHERE error IS NOT NULL) AS errors,
       CAST(sum(n_params) AS BIGINT) AS n_params
FROM checkpoints GROUP BY 1 ORDER BY n DESC, 1
"""
SQL_MIXED = """
SELECT id, coalesce(path, source) AS checkpoint, score, never_trained
FROM checkpoints WHERE verdict = 'mixed' ORDER BY id LIMIT ?
"""
SQL_ERRORS = "SELECT id, coalesce(path, source) AS checkpoint, error FROM checkpoints " \
             "WHERE error IS NOT NULL ORDER BY id LIMIT ?"
SQL_COMPARE = """
SELECT base, relation, count(*) AS n, avg(n_changed) AS mean_changed FROM comparisons
WHERE error IS NULL GROUP BY 1, 2 ORDER BY 1, n DESC
"""


def summary_data(db: ZooDB, limit: int = 20) -> dict:
    """Everything ``zoo summary`` shows, as DataFrames."""
    return {"totals": db.query("SELECT count(*) AS checkpoints, count(*) FILTER (WHERE error IS NOT NULL) AS "
                               "errors, CAST(sum(n_params) AS BIGINT) AS n_params, count(DISTINCT paramstat_version) AS "
                               "versions FROM checkpoints"),
            "by_format": db.query(SQL_BY.format(col="format")),
            "by_architecture": db.query(SQL_BY.format(col="architecture")),
            "mixed": db.query(SQL_MIXED, [limit]),
            "errors": db.query(SQL_ERRORS, [limit]),
            "comparisons": db.query(SQL_COMPARE)}


SQL_PAGE_CHECKPOINTS = """
SELECT id, coalesce(path, source) AS source, format, architecture, verdict, score, n_params,
       never_trained AS untrained, error
FROM checkpoints ORDER BY id
"""
SQL_PAGE_TENSORS = "SELECT checkpoint_id, name, verdict, score FROM tensors ORDER BY checkpoint_id, idx"


def page_rows(db: ZooDB) -> tuple[list[dict], dict[str, list[dict]]]:
    """(one row per checkpoint, tensor rows by checkpoint source) for the zoo HTML page
    (paramstat.report.html.zoo_page): the same numbers the tables above and ``zoo query`` give."""
    import math

    def clean(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        if hasattr(v, "tolist"):
            return v.tolist()
        return v

    ck = [{k: clean(v) for k, v in r.items()} for r in db.query(SQL_PAGE_CHECKPOINTS).to_dict("records")]
    by_id = {r["id"]: r["source"] for r in ck}
    tensors: dict[str, list[dict]] = {}
    for r in db.query(SQL_PAGE_TENSORS).to_dict("records"):
        src = by_id.get(r.pop("checkpoint_id"))
        if src is not None:
            tensors.setdefault(src, []).append({k: clean(v) for k, v in r.items()})
    for r in ck:
        r["untrained"] = list(r["untrained"] or [])
    return ck, tensors


def _table(df, title: str):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for c in df.columns:
        t.add_column(str(c), justify="right" if df[c].dtype.kind in "iuf" else "left", overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[_cell(v) for v in row])
    return t


def _cell(v) -> str:
    import math

    import pandas as pd

    if v is None or (not hasattr(v, "__len__") and pd.isna(v)):
        return "—"
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.3f}"
    if hasattr(v, "tolist") and not isinstance(v, str):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v[:8])) + (f" … (+{len(v) - 8})" if len(v) > 8 else "")
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_summary(db: ZooDB, console, limit: int = 20) -> None:
    d = summary_data(db, limit)
    tot = d["totals"].iloc[0]
    console.print(f"{db.path}: {int(tot['checkpoints'])} checkpoint rows, {int(tot['errors'])} errors, "
                  f"{int(tot['n_params'] or 0):,} parameters")
    console.print(_table(d["by_format"], "verdicts by format"))
    console.print(_table(d["by_architecture"], "verdicts by architecture"))
    if len(d["mixed"]):
        console.print(_table(d["mixed"], f"mixed checkpoints and their never-trained tensors (first {limit})"))
    if len(d["errors"]):
        console.print(_table(d["errors"], f"errors (first {limit})"))
    if len(d["comparisons"]):
        console.print(_table(d["comparisons"], "comparisons: relation to the base"))


def print_frame(df, console, title: str = "") -> None:
    console.print(_table(df, title))
