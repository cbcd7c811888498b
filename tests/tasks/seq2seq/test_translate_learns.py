"""Attention, measured: on reversing a sequence of symbols, an encoder-decoder with attention
translates held-out sequences of 9 to 12 symbols exactly, which the same model without
attention, trained as long, cannot (it only manages short ones). Trained by steps, not
seconds, so the numbers do not depend on the machine's load."""

import pytest

from recurrente.tasks.seq2seq.model import Seq2Seq
from recurrente.tasks.seq2seq.options import TranslatorOptions
from recurrente.tasks.seq2seq.task import train_translator
from recurrente.train.config import TrainConfig
from tests.translate_fixtures import reverse_pairs, write_tsv


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reverse")
    return write_tsv(folder / "reverse.tsv", reverse_pairs(4000, seed=0, low=2, high=12)), folder


def exact(model, pairs) -> float:
    outputs = [t.text for t in model.translate([s for s, _ in pairs])]
    return sum(o == t for o, (_, t) in zip(outputs, pairs)) / len(pairs)


def trained(data, attention: str, cell: str = "gru", steps: int = 600) -> Seq2Seq:
    path, folder = data
    opts = TranslatorOptions(data=str(path), cell=cell, hidden=64, attention=attention,
                             dropout=0.0, label_smoothing=0.0, batch_size=32,
                             train=TrainConfig(max_steps=steps, eval_every=10 ** 6, lr=0.005))
    out = folder / f"{cell}-{attention}"
    train_translator(opts, out, progress=False, log=lambda *a: None)
    return Seq2Seq.load(out)


@pytest.mark.slow
def test_attention_reverses_sequences_that_no_attention_cannot(data):
    long = reverse_pairs(300, seed=99, low=9, high=12)  # held out: fresh random sequences
    short = reverse_pairs(300, seed=98, low=2, high=4)
    with_attention, without = trained(data, "additive"), trained(data, "none")
    scores = {"attention, 9-12 symbols": exact(with_attention, long),
              "no attention, 9-12 symbols": exact(without, long),
              "no attention, 2-4 symbols": exact(without, short)}
    print(scores)
    assert scores["attention, 9-12 symbols"] >= 0.95, scores
    assert scores["no attention, 9-12 symbols"] <= 0.2, scores
    assert scores["no attention, 2-4 symbols"] >= 0.8, scores  # it learned the task, short


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_a_min_cell_encoder_decoder_with_attention_reverses_sequences(data, cell):
    """minGRU/minLSTM as the encoder (both directions, the parallel scan) and the decoder (one
    step at a time, input feeding): with attention they reverse held-out sequences of 5 to 8
    symbols."""
    model = trained(data, "additive", cell, steps=600)
    assert model.rnn.cell == cell and model.decoder.cells[0].cell == cell
    score = exact(model, reverse_pairs(300, seed=97, low=5, high=8))
    assert score >= 0.8, (cell, score)
