"""PyTorch pickles (.pt .pth .bin .th .ckpt ...): always ``torch.load(weights_only=True)``.

A pickle that needs arbitrary code (a GLOBAL outside torch's allow-list, e.g. ``os.system`` in a
``__reduce__``) makes the safe unpickler stop before anything runs: we raise UnsafePickleError.
``trust_pickle=True`` loads with ``weights_only=False`` (runs the file's code) and says so on stderr.
Zip-format files are memory-mapped (``mmap=True``); legacy pickles are read whole.
TorchScript archives (torch.jit.save) are read by readers/torchscript.py's code-free reader, or with
``torch.jit.load`` under ``trust_pickle``. A file that is neither a zip nor a protocol-2+ pickle (torch.save
writes protocol 2) and fails to load is reported as "not a PyTorch checkpoint" with its first bytes,
not as a safety refusal; a pickle whose GLOBAL needs code is refused whatever its protocol.
"""
from __future__ import annotations

import pickle
import re
import struct
import sys
import warnings as _warnings
import zipfile
from pathlib import Path

from ...errors import ParamstatError, UnsafePickleError
from ...formats import TORCH_EXT
from ...record import Checkpoint
from ..build import Entry
from ..detect import is_torch_file, is_torchscript
from ..limits import check_bytes
from ..registry import register_reader
from .torch_legacy import LazyTensor, NeedsTorch, is_legacy_torch, load_legacy
from .torchscript import CORRUPT_HINT, read_torchscript

TRUST_HINT = "--trust-pickle runs the file's code: pass it only if you trust the file and its source"


def _first_reason(msg: str) -> str:
    """What torch's weights_only unpickler objected to, without its advice to allow-list the global (which
    would let the file run code): 'it imports eval', or the first sentence of the objection."""
    m = re.search(r"GLOBAL ([\w.]+)", msg)
    if m:
        return f"it imports {m.group(1)}"
    for line in msg.splitlines():
        s = line.strip().removeprefix("WeightsUnpickler error:").strip()
        if s.startswith(("Trying to load unsupported", "Unsupported", "Weights only load failed:")):
            s = re.split(r"\. (?=Please|To |You can|Check)|Please use|torch\.serialization", s)[0].rstrip(" .,`(")
            return s[:160]
    return ""


def _looks_like(head: bytes) -> str:
    """A few words on what a non-checkpoint file's first bytes look like."""
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the weights: run `git lfs pull`"
    if head.lstrip()[:1] == b"<":
        return "HTML/XML text: a saved error page?"
    if head.lstrip()[:1] in (b"{", b"["):
        return "JSON text"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file: name it .h5"
    if head and all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "plain text"
    return "binary data"


def _not_a_checkpoint(p: str) -> ParamstatError:
    """The message names what the first bytes look like, never the bytes themselves (the file may be a
    shard the user did not name)."""
    with open(p, "rb") as f:
        head = f.read(32)
    return ParamstatError(f"not a PyTorch checkpoint: neither a zip archive nor a pickle ({_looks_like(head)})",
                          path=p, hint="the file is corrupt, truncated or in another format: check what wrote it")


def _check_zip_members(p: str) -> None:
    """Every member's decompressed size (``ZipInfo.file_size``) against the limit, before torch reads any."""
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ParamstatError(f"corrupt zip archive ({type(e).__name__})", path=p, hint=CORRUPT_HINT) from e
    for i in infos:
        check_bytes(i.file_size, f"archive member {i.filename[:60]!r} (decompressed)", p)


def _is_pickle_start(p: str) -> bool:
    """Protocol 2+ pickle (PROTO opcode) or a zip/tar archive: what torch.save / legacy torch write."""
    import tarfile

    with open(p, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") or head.startswith(b"PK"):
        return True
    try:
        return tarfile.is_tarfile(p)
    except (OSError, ValueError):
        return False


def torch_load(path: str | Path, trust_pickle: bool = False, legacy_reader: bool = True):
    """The unpickled object. Raises ParamstatError (corrupt) or UnsafePickleError (needs code). A legacy
    (non-zip) file goes to readers/torch_legacy.py (no torch import; its tensors are LazyTensors) unless
    ``trust_pickle`` or ``legacy_reader=False``."""
    p = str(path)

    is_zip = zipfile.is_zipfile(p)
    if not is_zip and legacy_reader and not trust_pickle and is_legacy_torch(p):
        try:
            return load_legacy(p)
        except NeedsTorch:
            pass   # a global the torch-free reader does not implement: torch's allow-list decides
    import torch

    if is_zip and is_torchscript(p):
        if not trust_pickle:
            return read_torchscript(p)[0]
        print(f"paramstat: warning: {p}: loading a TorchScript archive with torch.jit.load (--trust-pickle): "
              "this runs any code the file contains", file=sys.stderr)
        _check_zip_members(p)
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")  # torch 2.9+: FutureWarning (jit is deprecated)
                return dict(torch.jit.load(p, map_location="cpu").state_dict())
        except (RuntimeError, ValueError, OSError, IndexError, KeyError, EOFError) as e:
            raise ParamstatError(f"torch.jit.load cannot read the TorchScript archive ({_reason(e)})", path=p,
                                 hint=CORRUPT_HINT) from e
    if is_zip:
        _check_zip_members(p)
    if trust_pickle:
        print(f"paramstat: warning: {p}: loading with --trust-pickle (weights_only=False): this runs any code "
              "the file contains", file=sys.stderr)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=not trust_pickle, mmap=is_zip)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if not trust_pickle and "Weights only load failed" in msg:
            reason = _first_reason(msg)
            if reason.startswith("it imports"):
                raise UnsafePickleError(f"refused: this pickle needs arbitrary code to load ({reason})",
                                        path=p, hint=TRUST_HINT) from e
            if not is_zip and not _is_pickle_start(p):
                raise _not_a_checkpoint(p) from e
            if "Unsupported" in reason:
                raise UnsafePickleError(
                    f"refused: the safe loader (weights_only) cannot read this pickle ({reason}; not written "
                    "by torch.save?)", path=p, hint=TRUST_HINT) from e
        if not is_zip and not _is_pickle_start(p):
            raise _not_a_checkpoint(p) from e
        raise ParamstatError(f"corrupt pickle ({_first_reason(msg) or _reason(e)})", path=p,
                             hint=CORRUPT_HINT) from e
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, struct.error, AttributeError,
            ImportError, UnicodeDecodeError, zipfile.BadZipFile, OSError, TypeError) as e:
        if not is_zip and not _is_pickle_start(p):
            raise _not_a_checkpoint(p) from e
        raise ParamstatError(f"cannot read as a PyTorch checkpoint ({_reason(e)})", path=p,
                             hint=CORRUPT_HINT) from e
    except RecursionError as e:
        raise ParamstatError("cannot read as a PyTorch checkpoint (objects nested too deeply)", path=p,
                             hint=CORRUPT_HINT) from e


def _reason(e: BaseException) -> str:
    """'TypeName: first non-empty line' (first sentence, at most 120 characters), never an empty '()'."""
    first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "")
    first = first.split(". ")[0][:120]
    return f"{type(e).__name__}: {first}" if first else f"{type(e).__name__}, no message"



def torch_entries(p: Path, s: str, trust_pickle: bool):
    """(build Entries, warnings, None) of a torch pickle, nested checkpoints unwrapped; ([], warnings, module)
    when the file holds a pickled nn.Module."""
    from ..align import unwrap

    obj = torch_load(p, trust_pickle=trust_pickle)
    flat, w, where = unwrap(obj)
    if "" in flat and len(flat) == 1:
        return [], w, flat[""]
    entries, w = entries_from_flat(flat, w, where, s)
    return entries, w, None


def entries_from_flat(flat: dict, w: list[str], where: str, s: str):
    """build Entries from an unwrapped {key: tensor} (``where``: the nesting it came from)."""
    from ...dtypes import torch_dtype_name, torch_to_numpy

    if where and not any("taken from" in x for x in w):
        w = [f"weights nested under '{where}'"] + w
    entries = []
    for k, t in flat.items():
        if isinstance(t, LazyTensor):
            entries.append(Entry(k, tuple(t.shape), t.dtype, t.read))
        else:
            entries.append(Entry(k, tuple(t.shape), torch_dtype_name(t.dtype),
                                 (lambda t=t: torch_to_numpy(t)[0])))
    if not entries:
        raise ParamstatError("no tensors found in this checkpoint" + (f" ({w[0]})" if w else ""), path=s,
                             hint="check that it is a weights file (a state dict), not e.g. an optimizer dump")
    return entries, w


@register_reader("torch", extensions=TORCH_EXT, sniff=is_torch_file, sniff_order=40)
def read(p: Path, s: str, ctx) -> Checkpoint:
    """A torch pickle / zip (``torch.load(weights_only=True)``); a TorchScript archive under a torch
    extension goes to the TorchScript reader unless ``trust_pickle`` (then torch.jit.load)."""
    if not ctx.trust_pickle and is_torchscript(p):
        from .torchscript import read as read_torchscript_file

        return read_torchscript_file(p, s, ctx)
    return torch_entries_checkpoint(p, s, ctx)


def torch_entries_checkpoint(p: Path, s: str, ctx) -> Checkpoint:
    """The Checkpoint of a torch pickle (a pickled nn.Module: its own roles; a TorchScript archive with
    ``trust_pickle``: torch.jit.load)."""
    from ..build import build, file_provenance

    entries, w, obj_module = torch_entries(p, s, ctx.trust_pickle)
    prov = dict(ctx.prov)
    prov.update(file_provenance(p, ctx.hash))
    if obj_module is not None:
        from ..module import checkpoint_from_module

        prov["pickled_module"] = type(obj_module).__name__
        ck = checkpoint_from_module(obj_module, source=s, provenance=prov, format="torch")
        ck.warnings = list(ctx.warnings) + w + ck.warnings
        return ck
    return build(entries, source=s, format="torch", provenance=prov, warnings=list(ctx.warnings) + w,
                 roles=ctx.roles, order=ctx.order, path=s)
