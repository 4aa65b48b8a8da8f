"""Checkpoint verdict (:func:`judge_checkpoint`) from the tensor verdicts.

Over weight matrices, weighted by parameter count. ``trained`` when most decided parameters are trained;
``mixed`` when, in addition, some weight matrices are confidently untrained (P <= thresholds.mixed, or
'untrained' in a module whose bias is still exactly constant: no update ever reached it, or 'untrained'
after the last trained matrix in network order: a reset head) — they and the small tensors of the same
modules are listed — or when a trained minority holds >= 10% of the parameters in >= 2 matrices (a probe
trained on a frozen random body), or when >= 2 confidently trained (P >= CONFIDENT_TRAINED) and a confidently
untrained (P <= thresholds.mixed) matrix coexist whatever their sizes (a fresh 10x4096 head on two
trained convs: two confidently trained matrices occur in no fresh or init-scheme checkpoint of the zoo
(held-out scores; one does: a 1152-value xavier_normal pointwise conv at P 0.986), so the parameter
majority must not hide them); ``undetermined`` when no tensor at all could be decided (only tiny or
too-thin tensors); ``untrained`` otherwise. Norm layers exactly at 1/0 inside a trained net are reported
per tensor (untrained) but do not make a checkpoint ``mixed`` by themselves: a frozen affine norm, or one
whose output is cancelled, legitimately stays at its init.
"""
from __future__ import annotations

import numpy as np

from .results import TensorVerdict
from .scoring import load_model

CONFIDENT_TRAINED = 0.95   # P(trained) of matrices that (two or more), beside a confidently untrained one, make 'mixed'


def _module(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def judge_checkpoint(tensors: list[TensorVerdict], model: dict | None = None) -> tuple[str, float, list[str]]:
    """(verdict, P(trained), names of the never-trained tensors that make it 'mixed').

    Weighted by parameter count over the weight matrices ('matrix' group; all analysed tensors when
    there are none). ``trained`` when most decided parameters are trained and no matrix has
    P <= thresholds.mixed (nor is 'untrained' beside a bias still exactly constant); ``mixed`` when such
    matrices exist (or 'untrained' ones after the last trained matrix), or when a trained minority holds
    >= 10% of the parameters in >= 2 matrices, or >= 2 matrices with P >= CONFIDENT_TRAINED sit beside one with
    P <= thresholds.mixed (those confidently untrained ones are listed); ``undetermined`` when no tensor was decided; ``untrained``
    otherwise."""
    model = model or load_model()
    th = model["thresholds"]
    judged = [t for t in tensors if t.verdict != "skipped" and t.score is not None]
    mats = [t for t in judged if t.group == "matrix"] or [t for t in judged if t.role != "running_stat"] or judged
    if not mats:
        return "undetermined", 0.5, []
    w = np.array([t.numel for t in mats], dtype=np.float64)
    s = np.array([t.score for t in mats], dtype=np.float64)
    score = float((w * s).sum() / w.sum())
    if not any(t.verdict in ("trained", "untrained") for t in judged):
        # nothing could be decided (tiny or too-thin tensors only): no confident guess
        return "undetermined", score, []
    is_tr = np.array([t.verdict == "trained" for t in mats])
    is_un = np.array([t.verdict == "untrained" for t in mats])
    trained_w, untrained_w = float(w[is_tr].sum()), float(w[is_un].sum())
    decided = trained_w + untrained_w
    frac_trained = trained_w / decided if decided > 0 else score
    if frac_trained >= 0.5:
        # a bias still exactly constant in a trained net never received an update: an 'untrained' matrix of
        # the same module is then decisive even above the 'mixed' threshold (e.g. an unused pooler)
        frozen = {_module(t.name) for t in judged if t.role == "bias" and t.verdict == "untrained"
                  and any(e.feature == "constant" for e in t.evidence)}
        # the head is the usual victim (new classes, strict=False): an 'untrained' matrix after the last
        # trained one in network order is decisive even above the 'mixed' threshold
        last_tr = max((i for i, t in enumerate(mats) if t.verdict == "trained"), default=-1)
        bad = [t for i, t in enumerate(mats) if t.score <= th.get("mixed", 0.1)
               or (t.verdict == "untrained" and (_module(t.name) in frozen or i > last_tr))]
        if not bad:
            return "trained", score, []
    elif trained_w >= 0.1 * w.sum() and int(is_tr.sum()) >= 2:
        # a trained minority (e.g. a probe on a frozen random body): list the untrained matrices
        bad = [t for t, u in zip(mats, is_un) if u]
    elif sum(t.verdict == "trained" and t.score >= CONFIDENT_TRAINED for t in mats) >= 2 and \
            any(t.verdict == "untrained" and t.score <= th.get("mixed", 0.1) for t in mats):
        # confidently trained and confidently untrained matrices side by side, the untrained ones holding most
        # parameters: the confidently untrained ones decide 'mixed'
        bad = [t for t in mats if t.verdict == "untrained" and t.score <= th.get("mixed", 0.1)]
    else:
        return "untrained", score, []
    mods = {_module(t.name) for t in bad}
    names = [t.name for t in bad]
    bad_ids = {id(t) for t in bad}
    names += [t.name for t in judged if t.group != "matrix" and id(t) not in bad_ids and _module(t.name) in mods
              and t.verdict in ("untrained", "undetermined")]
    order = {t.name: i for i, t in enumerate(tensors)}
    names.sort(key=lambda n: order.get(n, 0))
    return "mixed", score, names
