"""JSON output: '-' means stdout (and nothing else goes to stdout); a path is written atomically."""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from ..atomic import write_text


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _clean(float(o))
    if isinstance(o, np.ndarray):
        return [_default(x) if not isinstance(x, (int, float)) else x for x in o.tolist()]
    if isinstance(o, np.bool_):
        return bool(o)
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(o)
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def _clean(x):
    """JSON has no NaN/Infinity: map them to None (and say so in the field's docs)."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def _sanitize(o):
    if isinstance(o, dict):
        return {str(k): _sanitize(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v) for v in o]
    if isinstance(o, float):
        return _clean(o)
    if isinstance(o, (np.floating,)):
        return _clean(float(o))
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return _sanitize(o.tolist())
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return _sanitize(asdict(o))
    return o


def dumps(obj) -> str:
    return json.dumps(_sanitize(obj), indent=2, default=_default, allow_nan=False)


def write_json(obj, path: str, force: bool = False) -> None:
    """Write ``obj`` as JSON to ``path`` ('-' = stdout). A file goes through atomic.write_text (temp file +
    rename): an existing file is refused unless ``force`` (the command's --force); special files such as
    /dev/null are written into."""
    text = dumps(obj) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text(path, text, force=force)
