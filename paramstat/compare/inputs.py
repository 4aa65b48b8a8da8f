"""Whatever the user hands to compare() -> a Checkpoint: paramstat.sources.load (a Checkpoint as is, an
nn.Module, a mapping unwrapped like a file, a path or a name), without the provenance sha256 (hashing
is one more full read of each file, a third of the wall time of a 2-billion-parameter compare, and
compare reads every byte anyway)."""
from __future__ import annotations

from ..record import Checkpoint


def to_checkpoint(x, *, fresh: bool = False, seed: int = 0, **load_kwargs) -> Checkpoint:
    from ..sources import load

    return load(x, fresh=fresh, seed=seed, hash=False, **load_kwargs)
