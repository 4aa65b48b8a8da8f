"""paramstat compare (stub: being built)."""
HELP = "compare (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'compare' is not implemented yet")
