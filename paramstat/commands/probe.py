"""paramstat probe (stub: being built)."""
HELP = "probe (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'probe' is not implemented yet")
