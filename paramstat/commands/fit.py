"""paramstat fit (stub: being built)."""
HELP = "fit (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'fit' is not implemented yet")
