"""The adaptive softmax: an exact distribution over the whole vocabulary, which starts uniform,
trains through the targets' clusters only, and samples, saves and loads like the full one."""

import math

import pytest
import torch

from recurrente import LanguageModel
from recurrente.tasks.lm.inference import stream_tokens
from recurrente.tasks.lm.softmax import AdaptiveHead, cutoffs_for, summed_nll


@pytest.mark.parametrize("vocab", [7, 300, 5000, 20000])
def test_log_probabilities_are_a_distribution_and_match_the_training_loss(vocab):
    torch.manual_seed(0)
    head = AdaptiveHead(16, vocab)
    assert head.cutoffs == cutoffs_for(vocab) and all(c < vocab for c in head.cutoffs)
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()  # far from the uniform start
    h = torch.randn(5, 3, 16)
    logp = head(h)  # (T, B, V)
    assert logp.shape == (5, 3, vocab)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(5, 3))
    y = torch.randint(0, vocab, (5, 3))
    torch.testing.assert_close(summed_nll(head, h, y), -logp.gather(-1, y[..., None]).sum())


@pytest.mark.parametrize("vocab", [60, 36000])
def test_the_adaptive_softmax_starts_uniform(vocab):
    model = LanguageModel(vocab, hidden_size=64, num_layers=2, softmax="adaptive").eval()
    ids = torch.randint(0, vocab, (30, 6))
    with torch.no_grad():
        loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
        assert abs(float(loss_sum) / count - math.log(vocab)) < 0.02
        assert float(model(ids)[0].exp().amax()) < 3.0 / vocab  # no id much above 1 / V


def test_the_adaptive_softmax_samples_saves_and_refuses_tying(tmp_path):
    torch.manual_seed(1)
    model = LanguageModel(3000, hidden_size=16, num_layers=2, softmax="adaptive").eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_()
    fast = [t.tolist() for t in stream_tokens(model, [[1, 2, 3]] * 2, 12, 0.9, seed=4)]
    plain = [t.tolist() for t in stream_tokens(model, [[1, 2, 3]] * 2, 12, 0.9, seed=4,
                                               fast=False)]
    assert fast == plain
    model.save(tmp_path)
    again = LanguageModel.load(tmp_path).eval()
    ids = torch.randint(0, 3000, (9, 2))
    torch.testing.assert_close(model(ids)[0], again(ids)[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="full softmax"):
        LanguageModel(3000, hidden_size=16, softmax="adaptive", tie_weights=True)
