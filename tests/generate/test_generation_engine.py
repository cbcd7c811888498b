"""The generation engine computes exactly what the model's own forward computes."""

import pytest
import torch

from recurrente import LanguageModel
from recurrente.generate.engine import GenerationEngine
from recurrente.tasks.lm.inference import generate_batch, stream_tokens


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru", "minlstm"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("table", [True, False])
def test_engine_steps_match_forward(cell, batch, table, monkeypatch):
    if not table:
        monkeypatch.setattr("recurrente.generate.engine.TABLE_LIMIT", 0)
    torch.manual_seed(0)
    model = LanguageModel(23, cell=cell, hidden_size=16, num_layers=3, embedding_size=8).eval()
    ids = torch.randint(0, 23, (12, batch))
    with torch.no_grad():
        expected, _ = model(ids)  # (12, B, V)
    engine = GenerationEngine(model, batch)
    logits, state = engine.prime(ids[:4])
    torch.testing.assert_close(logits, expected[3])
    for t in range(4, 12):
        logits, state = engine.step(ids[t], state)
        torch.testing.assert_close(logits, expected[t], atol=1e-5, rtol=1e-5)


def _pack_every_weight(monkeypatch):
    """Every product through oneDNN's packed weights (False where oneDNN is missing)."""
    from recurrente.generate import engine
    from recurrente.layers import step_gemm
    monkeypatch.setattr(engine, "PACK_MIN_NUMEL", 0)
    monkeypatch.setattr(engine, "PACK_RULE_NUMEL", 0)
    monkeypatch.setenv("RECURRENTE_AUTOTUNE", "0")
    return step_gemm._works("onednn", torch.float32)


def _engine_against_forward(cell, batch, precision, kwargs=None):
    """The largest gap between the engine's logits and the forward's over 8 stepped tokens,
    relative to the logits' size, and the kernels the engine used."""
    torch.manual_seed(0)
    model = LanguageModel(23, cell=cell, hidden_size=16, num_layers=2, embedding_size=8)
    if kwargs:
        model.rnn = type(model.rnn)(8, 16, 2, implementation="scratch", **kwargs)
    model.eval()
    ids = torch.randint(0, 23, (12, batch))
    with torch.no_grad():
        expected, _ = model(ids)  # (12, B, V)
    engine = GenerationEngine(model, batch, precision=precision)
    logits, state = engine.prime(ids[:4])
    gap = 0.0
    for t in range(4, 12):
        logits, state = engine.step(ids[t], state)
        gap = max(gap, ((logits - expected[t]).abs().max() / expected[t].abs().max()).item())
    packed = [p.packed is not None for layer in engine.layers for p in layer.products.values()]
    return gap, packed + [engine.head.packed is not None]


@pytest.mark.parametrize("cell,kwargs", [("lstm", None), ("gru", None), ("rnn", None),
                                         ("gru", {"reset_after": False})])
@pytest.mark.parametrize("batch", [1, 3])
def test_engine_packed_products_match_forward(cell, kwargs, batch, monkeypatch):
    """oneDNN's packed products: the forward's logits to float32 rounding."""
    if not _pack_every_weight(monkeypatch):
        pytest.skip("oneDNN is not available")
    gap, packed = _engine_against_forward(cell, batch, "fp32", kwargs)
    assert all(packed) and gap < 1e-5


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_engine_bf16_products_near_forward(cell, monkeypatch):
    """precision="bf16": products in bfloat16 where the CPU has the instructions (logits within
    2% of float32's), float32 exactly elsewhere."""
    from recurrente.layers.step_gemm import bf16_available
    _pack_every_weight(monkeypatch)
    gap, packed = _engine_against_forward(cell, 1, "bf16")
    if bf16_available():
        assert all(packed) and 0 < gap < 2e-2
    else:
        assert gap < 1e-5


def test_engine_refuses_an_unknown_precision():
    model = LanguageModel(5, hidden_size=4, num_layers=1).eval()
    with pytest.raises(ValueError, match="fp32 or bf16"):
        GenerationEngine(model, precision="fp8")


def test_course_gru_and_relu_rnn_layers():
    torch.manual_seed(1)
    for cell, kwargs in [("gru", {"reset_after": False}), ("rnn", {"nonlinearity": "relu"})]:
        model = LanguageModel(11, cell=cell, hidden_size=8, num_layers=2, implementation="scratch")
        layer_cls = type(model.rnn)
        model.rnn = layer_cls(8, 8, 2, implementation="scratch", **kwargs)
        model.eval()
        ids = torch.randint(0, 11, (6, 1))
        with torch.no_grad():
            expected, _ = model(ids)
        engine = GenerationEngine(model)
        logits, _ = engine.prime(ids[:1])
        for t in range(1, 6):
            logits, _ = engine.step(ids[t])
            torch.testing.assert_close(logits, expected[t], atol=1e-5, rtol=1e-5)


def test_fast_and_plain_sampling_agree():
    torch.manual_seed(2)
    model = LanguageModel(17, cell="lstm", hidden_size=12, num_layers=2).eval()
    prompts = [[1, 2, 3]] * 2
    fast = [t.tolist() for t in stream_tokens(model, prompts, 30, 0.8, seed=5)]
    plain = [t.tolist() for t in stream_tokens(model, prompts, 30, 0.8, seed=5, fast=False)]
    assert fast == plain
    assert generate_batch(model, prompts, 5, temperature=0) == \
        generate_batch(model, prompts, 5, temperature=0)
