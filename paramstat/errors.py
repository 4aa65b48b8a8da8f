"""User-facing errors: one line that says what went wrong, where, and what to do."""


class ParamstatError(Exception):
    """An error caused by the user's input. The CLI prints ``str(err)`` on one line and exits non-zero.

    Build the message as: what happened, which file/tensor, what to do. Example:
    ``ParamstatError("not a safetensors file (header truncated)", path="x.safetensors",
    hint="re-download the file or check that the copy finished")``.
    """

    exit_code = 2

    def __init__(self, what: str, path: str | None = None, hint: str | None = None):
        self.what, self.path, self.hint = what, path, hint
        msg = what if path is None else f"{path}: {what}"
        if hint:
            msg += f" — {hint}"
        super().__init__(msg)


class UnsafePickleError(ParamstatError):
    """A pickle that would run arbitrary code on load; refused unless the user trusts it."""
