"""`paramstat.scan` and `paramstat.compare` are both submodules and API functions. After
`import paramstat.scan`, Python binds the submodule to the package attribute, so the function would be
shadowed; making the module itself callable keeps `paramstat.scan(src)` working either way."""
from __future__ import annotations

import sys
import types


def make_module_callable(module_name: str, func_name: str) -> None:
    """Calling the module ``module_name`` calls its attribute ``func_name``."""

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(self, func_name)(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule
