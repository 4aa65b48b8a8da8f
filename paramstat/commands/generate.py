"""paramstat generate (stub: being built)."""
HELP = "generate (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'generate' is not implemented yet")
