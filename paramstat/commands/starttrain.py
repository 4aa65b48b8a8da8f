"""paramstat starttrain (stub: being built)."""
HELP = "starttrain (not yet available)"


def add_arguments(p):
    pass


def run(args):
    from ..errors import ParamstatError

    raise ParamstatError("'starttrain' is not implemented yet")
