"""The data model every stage shares: a checkpoint is an ordered list of TensorRecords whose
values are read lazily, one tensor at a time (so peak memory stays near the largest tensor)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .dtypes import as_float, is_float

# Layer roles. 'dwconv' = depthwise conv (groups == in_channels), 'pwconv' is reported as 'conv'
# with kernel 1x1 (see TensorRecord.kernel_size).
ROLES = (
    "conv", "dwconv", "linear", "embedding", "norm_weight", "norm_bias", "bias", "running_stat",
    "attn_in_proj", "positional", "other",
)


@dataclass
class TensorRecord:
    name: str                     # canonical key: wrapper prefixes ('module.', 'model.' ...) removed
    stored_name: str              # the key exactly as stored in the file
    dtype: str                    # 'float32', 'float16', 'bfloat16', 'float64', 'int64', ...
    shape: tuple[int, ...]
    role: str                     # one of ROLES
    depth: int                    # order in the network (0-based, module order when known)
    module_type: str | None = None  # e.g. 'Conv2d', 'BatchNorm2d' when the architecture is known
    fan_in: int | None = None     # conv: in/groups * prod(kernel); linear: in_features
    fan_out: int | None = None    # conv: out * prod(kernel) (torch convention: not divided by groups); linear: out_features
    groups: int | None = None
    reader: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    hidden_size: int | None = None  # recurrent layers (RNN/LSTM/GRU): torch's init U(+-1/sqrt(hidden_size))
    framework: str | None = None  # whose init laws drew it: 'torch' (ONNX from torch.onnx.export), 'keras';
    #                               None when the file does not say (paramstat.verdict.exactlaw.framework_laws)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= int(s)
        return n

    @property
    def analysable(self) -> bool:
        """Float tensors are analysed; integer buffers (num_batches_tracked...) are only listed."""
        return is_float(self.dtype) and self.numel > 0

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(self.shape[2:]) if self.role in ("conv", "dwconv") else ()

    def read(self, widen: bool = False) -> np.ndarray:
        """The stored array (bf16 as raw uint16 bits; see paramstat.dtypes). ``widen``: a bf16 tensor may
        come as the upper halves of a float32 array of its values (the same uint16 bits, a strided view:
        stats.floatpass.high_bits), where the reader can (``reader.widens``): for consumers that need the
        values, one float32-sized array instead of the bits plus a float32 copy."""
        if self.reader is None:
            raise RuntimeError(f"{self.name}: no reader attached")
        if widen and self.dtype == "bfloat16" and getattr(self.reader, "widens", False):
            return self.reader(widen=True)
        return self.reader()

    def values(self) -> np.ndarray:
        """Values as float (bf16 -> float32)."""
        return as_float(self.read(), self.dtype)

    def meta(self) -> dict:
        """JSON-ready description; 'hidden_size' only for recurrent-layer tensors (where it is known)."""
        out = {
            "name": self.name, "stored_name": self.stored_name, "dtype": self.dtype,
            "shape": list(self.shape), "role": self.role, "depth": self.depth,
            "module_type": self.module_type, "fan_in": self.fan_in, "fan_out": self.fan_out,
            "groups": self.groups, "numel": self.numel,
        }
        if self.hidden_size is not None:
            out["hidden_size"] = self.hidden_size
        return out


@dataclass
class Checkpoint:
    source: str                   # what the user passed
    format: str                   # 'timm', 'safetensors', 'safetensors-sharded', 'hf-folder', 'torch', 'npz', 'h5'
    records: list[TensorRecord]
    provenance: dict = field(default_factory=dict)  # sha256, versions, arch, pretrained/fresh, seed, ...
    warnings: list[str] = field(default_factory=list)
    # one pass over the bytes (sources/onepass.py): the digest fed by the tensors' reads, and the record
    # indices in the order their bytes lie in the file (None: the records' order)
    digest: object | None = field(default=None, repr=False, compare=False)
    byte_order: list[int] | None = field(default=None, repr=False, compare=False)

    def in_byte_order(self) -> list[TensorRecord]:
        """The records in the order their bytes lie in the file: reading them so is one sequential pass."""
        return self.records if self.byte_order is None else [self.records[i] for i in self.byte_order]

    def finish_provenance(self) -> dict:
        """Fill provenance['sha256'] from the one-pass digest once the values were read (a no-op without
        one); returns the provenance."""
        if self.digest is not None and self.provenance.get("sha256") is None:
            self.provenance["sha256"] = self.digest.hexdigest()
        return self.provenance

    def __iter__(self) -> Iterator[TensorRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, name: str) -> TensorRecord:
        for r in self.records:
            if r.name == name or r.stored_name == name:
                return r
        raise KeyError(name)

    @property
    def n_params(self) -> int:
        return sum(r.numel for r in self.records if r.analysable and r.role != "running_stat")

    def names(self) -> list[str]:
        return [r.name for r in self.records]
