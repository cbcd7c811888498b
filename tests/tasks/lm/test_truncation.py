"""Where backpropagation stops: fixed, variable (AWD-LSTM) and randomised (Tallec & Ollivier 2017)
windows keep the streams contiguous and resume exactly; variable windows scale the learning rate;
randomised truncation is unbiased: its expected gradient is full backpropagation's."""

import itertools

import numpy as np
import pytest
import torch

from recurrente import LanguageModel
from recurrente.data.batching import make_batches
from recurrente.data.windows import chunk_and_cut, compensation
from recurrente.errors import UserError
from recurrente.layers.state import detach_state
from recurrente.tasks.lm.options import LMOptions
from recurrente.tasks.lm.task import train_language_model
from recurrente.train.checkpoint import LAST, WEIGHTS
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer
from tests.lm_fixtures import word_corpus


@pytest.mark.parametrize("truncation", ["fixed", "variable", "random"])
def test_windows_read_the_streams_without_a_gap(truncation):
    ids = np.arange(30_000)
    batches = make_batches(ids, "sequential", 4, 20, seed=3, truncation=truncation)
    for epoch in (0, 1):
        got = list(batches.epoch(epoch))
        xs = torch.cat([b[0] for b in got])  # (S-1, B): every window's inputs, in order
        ys = torch.cat([b[1] for b in got])
        assert torch.equal(xs[1:], ys[:-1])  # window k+1 starts where window k stopped
        assert torch.equal(ys - xs, torch.ones_like(xs))  # and y is the next token
        assert all(torch.equal(b[0][1:], b[1][:-1]) for b in got)
        again = list(batches.epoch(epoch, start=5))  # a resumed epoch: the same windows
        assert all(torch.equal(a[0], b[0]) for a, b in zip(again, got[5:]))
        assert len(again) == len(got) - 5
        lengths = [b[0].shape[0] for b in got]
        scales = [batches.lr_scale(b) for b in got]
        if truncation == "fixed":
            assert set(lengths) == {20} and set(scales) == {1.0}
        else:
            assert len(set(lengths)) > 3 and scales == [n / 20 for n in lengths]
    if truncation == "variable":  # around T (p .95) or T/2, sd T/14, within [T/14, 2T]
        assert 1 <= min(lengths) and max(lengths) <= 40 and 18 < np.mean(lengths) < 21
    if truncation == "random":  # whole chunks of T/4, K ~ Geometric(1/4): E[length] = T
        chunk, cut = chunk_and_cut(20)
        assert (chunk, cut) == (5, 0.25) and all(n % 5 == 0 for n in lengths)
        assert all(len(b[2]) == b[0].shape[0] // 5 - 1 for b in got)
        assert all(torch.all(b[2] == 1 / 0.75) for b in got)
        assert 16 < np.mean(lengths) < 24


def test_variable_windows_need_the_sequential_scheme():
    with pytest.raises(UserError, match="sequential"):
        make_batches(np.arange(1000), "random", 4, 10, truncation="variable")
    with pytest.raises(UserError, match="--truncation"):
        make_batches(np.arange(1000), "sequential", 4, 10, truncation="sometimes")


def test_the_learning_rate_follows_the_window_length():
    ids = np.arange(5000) % 50
    batches = make_batches(ids, "sequential", 2, 16, seed=0, truncation="variable")
    model = LanguageModel(50, hidden_size=8, num_layers=1)
    trainer = Trainer(model, batches, TrainConfig(max_steps=6, lr=0.1, optimizer="sgd",
                                                  schedule="constant", clip=None))
    for batch in itertools.islice(batches.epoch(0), 6):
        record = trainer.train_step(batch)
        assert record["lr"] == pytest.approx(0.1 * batch[0].shape[0] / 16)


@pytest.mark.parametrize("truncation", ["variable", "random"])
def test_a_resumed_run_is_the_uninterrupted_run(truncation, tmp_path, monkeypatch):
    """Stopped after step 4 (as Ctrl-C stops it) and resumed: the same weights, raw and
    averaged, as the run that never stopped; windows, masks and the average all continue."""
    corpus = tmp_path / "words.txt"
    corpus.write_text(word_corpus(3000))

    def train(out, resume=False):
        opts = LMOptions(corpus=str(corpus), hidden=16, layers=2, seq_len=12, batch_size=4,
                         truncation=truncation, dropout=0.2, dropout_mask="sequence",
                         weight_dropout=0.3,
                         train=TrainConfig(max_steps=8, eval_every=3, average="0.3"))
        return train_language_model(opts, out, resume=resume, progress=False,
                                    log=lambda *a: None)

    train(tmp_path / "whole")
    step = Trainer.train_step

    def stop_after_4(self, batch):
        record = step(self, batch)
        self._interrupted = self.progress.step >= 4
        return record
    monkeypatch.setattr(Trainer, "train_step", stop_after_4)
    assert train(tmp_path / "split")["steps"] == 4
    monkeypatch.setattr(Trainer, "train_step", step)
    assert train(tmp_path / "split", resume=True)["steps"] == 8
    from safetensors.torch import load_file
    for name in (f"{LAST}/{WEIGHTS}", WEIGHTS):  # raw weights, and the averaged best
        a, b = (load_file(str(tmp_path / run / name)) for run in ("whole", "split"))
        assert all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- unbiasedness

def _gradient(model, stream, chunk, cuts, factor):
    """The summed loss's gradient when the stream's chunk boundaries are cut where ``cuts`` says
    (``True``: a cut) and the uncut ones carry ``factor`` on the gradient across them."""
    edges = [0] + [k + 1 for k, cut in enumerate(cuts) if cut] + [len(cuts) + 1]
    total, state = 0.0, None
    for start, end in zip(edges[:-1], edges[1:]):
        x = stream[start * chunk:end * chunk]
        y = stream[start * chunk + 1:end * chunk + 1]
        comp = torch.full((end - start - 1,), factor, dtype=torch.float64)
        loss_sum, _, state = model.loss((x, y, comp), state)
        total = total + loss_sum
        state = detach_state(state)
    return torch.autograd.grad(total, list(model.parameters()))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_randomised_truncation_is_unbiased(cell):
    """The expectation over every cut pattern, weighted by its probability, equals full
    backpropagation through the whole stream; fixed truncation's gradient does not."""
    torch.manual_seed(0)
    model = LanguageModel(7, cell=cell, hidden_size=5, num_layers=2, implementation="native")
    model = model.double().train()
    seq_len = 8
    chunk, cut = chunk_and_cut(seq_len)  # chunks of 2, a cut after each with probability 1/4
    factor = compensation(seq_len)
    chunks = 4
    stream = torch.randint(0, 7, (chunks * chunk + 1, 3))  # 3 streams
    full = _gradient(model, stream, chunk, [False] * (chunks - 1), 1.0)
    expected = [torch.zeros_like(g) for g in full]
    for cuts in itertools.product([False, True], repeat=chunks - 1):
        p = np.prod([cut if c else 1 - cut for c in cuts])
        for e, g in zip(expected, _gradient(model, stream, chunk, list(cuts), factor)):
            e += p * g
    for e, g in zip(expected, full):
        torch.testing.assert_close(e, g, rtol=1e-10, atol=1e-12)
    fixed = _gradient(model, stream, chunk, [True] * (chunks - 1), 1.0)  # windows of 2
    assert not all(torch.allclose(f, g, rtol=1e-3) for f, g in zip(fixed, full))
