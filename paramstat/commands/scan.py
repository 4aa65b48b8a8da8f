"""paramstat scan (stub: being built)."""
HELP = "scan (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'scan' is not implemented yet")
