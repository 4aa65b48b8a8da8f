"""paramstat info (stub: being built)."""
HELP = "info (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'info' is not implemented yet")
