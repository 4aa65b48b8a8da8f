"""Rich tables for the lab commands: ``probe`` (one row a layer) and ``starttrain`` (one row an init)."""
from __future__ import annotations


def fmt(x, spec: str = ".3g") -> str:
    """A number for a table cell; None and NaN print as '-'."""
    return "-" if x is None or x != x else format(x, spec)


def print_table(table, width: int, notes=()) -> None:
    """Print ``table`` (``width`` columns when not a terminal) and each non-empty line of ``notes`` under it."""
    from rich.console import Console

    con = Console(width=None if Console().is_terminal else width)
    con.print(table)
    for line in notes:
        if line:
            con.print(line, highlight=False, soft_wrap=True)


def probe_table(res, title: str):
    """Per layer: width n_j, M_j = ||act_j||^2/n_j and its batch variance, sd of log M_j/M_0, the tiny and
    saturated fractions, activation moments, and the gradient variances (lab/probe.ProbeResult)."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("#", "layer", "n_j", "M", "Var M", "sd log M/M0", "tiny", "act mean", "act std", "sat",
                "Var dL/da", "Var dL/dW"):
        t.add_column(col, justify="left" if col == "layer" else "right")
    for lp in res.layers:
        t.add_row(str(lp.index), lp.name, str(lp.width), fmt(lp.M), fmt(lp.M_var), fmt(lp.log_ratio_std, ".2f"),
                  fmt(lp.tiny_frac, ".2f"), fmt(lp.act_mean), fmt(lp.act_std), fmt(lp.sat_frac, ".2f"),
                  fmt(lp.grad_var), fmt(lp.wgrad_var))
    return t


def probe_footer(res) -> str:
    last = res.layers[-2].M / res.M0 if len(res.layers) > 1 else float("nan")
    return f"beta = sum 1/n_j = {res.beta:.4g}   M0 = {res.M0:.4g}   M_last/M0 = {last:.4g} (last hidden)"


def starttrain_table(res):
    """Per init: runs, runs that reached the target, median steps and epochs to it, final accuracy
    (lab/train.StartTrainResult.summary)."""
    from rich.table import Table

    c = res.config
    t = Table(title=f"starttrain {c['arch']} {c['act']} on {c['data']} (n_train={c['n_train']}, "
                    f"{c['optim']} lr={c['lr']}, batch {c['batch_size']}, {c['epochs']} epochs, target {c['target']})")
    for col in ("init", "runs", "reached", "median steps", "median epochs", "final acc (mean ± sd)"):
        t.add_column(col, justify="left" if col == "init" else "right")
    for s in res.summary():
        t.add_row(s["init"], str(s["runs"]), str(s["reached"]), fmt(s["median_steps"], ".0f"),
                  fmt(s["median_epochs"], ".2f"), f"{s['mean_final_acc']:.3f} ± {s['std_final_acc']:.3f}")
    return t


def diverged_line(res) -> str:
    bad = [f"{r.init}/seed {r.seed}" for r in res.runs if r.diverged]
    return "diverged (non-finite loss): " + ", ".join(bad) if bad else ""
