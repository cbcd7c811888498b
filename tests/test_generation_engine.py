"""The generation engine computes exactly what the model's own forward computes."""

import pytest
import torch

from recurrente import LanguageModel
from recurrente.generate.engine import GenerationEngine
from recurrente.tasks.lm.inference import generate_batch, stream_tokens


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
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
