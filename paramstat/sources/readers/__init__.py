"""The file readers; importing this package registers them (paramstat.sources.registry). Sniffing order
for files without a known extension (``sniff_order``): HDF5, npz, TorchScript, torch, .keras zip,
safetensors; sharded index and ONNX by extension only."""
from . import hdf5, index, npz, onnx_graph, safetensors_file, torch_pickle, torchscript  # noqa: F401
from .keras import reader as keras_reader  # noqa: F401
