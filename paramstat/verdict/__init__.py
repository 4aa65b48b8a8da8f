"""The verdict stage: features per tensor -> score and evidence -> rules -> checkpoint verdict.

- :mod:`.features`: scale-free features of one tensor (``tensor_features``, ``edge_smear``);
- :mod:`.scoring`: the packaged model (``load_model``) and its GBM / logistic scorers; :mod:`.evidence`
  the sentence beside each feature;
- :mod:`.rules`: ``judge_features`` / ``judge_tensor`` (the rule-based decisions, one copy);
- :mod:`.checkpoint`: ``judge_checkpoint``;
- :mod:`.stream`: the streaming ``scan()`` loop; :mod:`.results` the result types;
- :mod:`.layer_types`: the seed's Table 3 per layer type; :mod:`.plotdata`: the data behind the plots;
- :mod:`.fitting`: fitting the model on the zoo's feature table (no I/O).
"""
from __future__ import annotations

from .checkpoint import judge_checkpoint
from .features import Features, tensor_features
from .results import Evidence, ScanResult, TensorVerdict, flatten_stats
from .rules import judge_features, judge_tensor
from .scoring import load_model
from .stream import scan

__all__ = ["Evidence", "Features", "ScanResult", "TensorVerdict", "flatten_stats", "judge_checkpoint",
           "judge_features", "judge_tensor", "load_model", "scan", "tensor_features"]
