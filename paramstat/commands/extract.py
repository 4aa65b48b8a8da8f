"""paramstat extract (stub: being built)."""
HELP = "extract (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'extract' is not implemented yet")
