"""paramstat.stats.fixedtables against the tables the libraries' own code writes (transformers' Whisper
``sinusoids``, DistilBERT's ``_create_sinusoidal_embeddings``, Marian's ``create_weight``), and the verdict's
fixed-table rule on a fresh tiny WhisperModel."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from paramstat.stats.fixedtables import match_sinusoid

transformers = pytest.importorskip("transformers")


def _whisper(length, channels):
    from transformers.models.whisper.modeling_whisper import sinusoids

    return sinusoids(length, channels).numpy()


def _distilbert(length, channels):
    from transformers.models.distilbert.modeling_distilbert import _create_sinusoidal_embeddings

    out = torch.empty(length, channels)
    _create_sinusoidal_embeddings(length, channels, out)
    return out.numpy()


def _marian(length, channels):
    from transformers.models.marian.modeling_marian import MarianSinusoidalPositionalEmbedding

    return MarianSinusoidalPositionalEmbedding(length, channels).create_weight().numpy()


@pytest.mark.parametrize("make,form", [(_whisper, "whisper"), (_distilbert, "interleaved"), (_marian, "halves")])
@pytest.mark.parametrize("shape", [(1500, 384), (448, 64), (512, 768)])
def test_library_tables_match_their_form(make, form, shape):
    t = make(*shape)
    m = match_sinusoid(t, "float32")
    assert m is not None and m["form"] == form, m
    # float16 / bfloat16 copies round every value by up to half an ulp of 1
    for dt, tdt in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        low = torch.from_numpy(t).to(tdt).float().numpy()
        assert match_sinusoid(low, dt) is not None


def test_not_a_table():
    t = _whisper(1500, 384)
    rng = np.random.default_rng(0)
    # a table that moved (trained from the sinusoid, or a different timescale) is no fixed table
    assert match_sinusoid(t + rng.normal(0, 0.01, t.shape).astype(np.float32)) is None
    from transformers.models.whisper.modeling_whisper import sinusoids

    assert match_sinusoid(sinusoids(1500, 384, max_timescale=1000).numpy()) is None
    # the other forms do not pass for each other, nor does a random N(0, .02) table
    assert match_sinusoid(_distilbert(512, 64))["form"] == "interleaved"
    assert match_sinusoid(rng.normal(0, 0.02, (1500, 384))) is None
    assert match_sinusoid(np.concatenate([np.zeros((1, 8)), rng.normal(0, 1, (9, 8))])) is None


def test_whisper_encoder_table_is_not_judged():
    from transformers import WhisperConfig, WhisperModel

    from paramstat.verdict import scan

    torch.manual_seed(0)
    m = WhisperModel(WhisperConfig(vocab_size=500, d_model=64, pad_token_id=499, bos_token_id=498, eos_token_id=497,
                                   decoder_start_token_id=496, encoder_layers=1, decoder_layers=1,
                                   encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                                   decoder_ffn_dim=128))
    res = {t.name: t for t in scan(m, progress=False, hash=False).tensors}
    enc = res["encoder.embed_positions.weight"]
    assert enc.verdict == "undetermined" and enc.score == 0.5
    assert enc.evidence[0].feature == "fixed_table" and "whisper form" in enc.evidence[0].text
    # the decoder's learned table is a random init: judged as before
    assert res["decoder.embed_positions.weight"].verdict == "untrained"
    # wrong input: the same table moved by training-sized steps is judged, not skipped as fixed
    with torch.no_grad():
        m.encoder.embed_positions.weight.add_(torch.randn_like(m.encoder.embed_positions.weight) * 0.05)
    moved = {t.name: t for t in scan(m, progress=False, hash=False).tensors}["encoder.embed_positions.weight"]
    assert all(e.feature != "fixed_table" for e in moved.evidence)
