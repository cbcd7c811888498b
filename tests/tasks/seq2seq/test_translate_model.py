"""The encoder-decoder's parts, untrained: padding and batch independence of the loss and of
decoding, teacher forcing against scheduled sampling, the bridge for every cell, beam 1 =
greedy at model level, and the pair-file readers."""

import pytest
import torch

from recurrente.data.parallel import detokenize, parse_pair_line, read_aligned, read_tsv_pairs
from recurrente.errors import UserError
from recurrente.tasks.seq2seq.model import Seq2Seq
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer

V_SRC, V_TGT = 12, 10


def model(**kw):
    torch.manual_seed(kw.pop("seed", 0))
    m = Seq2Seq(V_SRC, V_TGT, **{"hidden_size": 16, "dropout": 0.0, **kw}).double()
    return m.eval()


def batch_of(sources, targets):
    """Pairs of id lists -> the batch dict (as data.collate makes it)."""
    from recurrente.data.padded import pad
    import numpy as np
    src, src_lengths = pad([np.array(s) for s in sources], 0)
    tgt_in, tgt_lengths = pad([np.array([2] + t) for t in targets], 0)
    tgt_out, _ = pad([np.array(t + [3]) for t in targets], 0)
    return {"src": src, "src_lengths": src_lengths, "tgt_in": tgt_in, "tgt_out": tgt_out,
            "tgt_lengths": tgt_lengths}


SOURCES = [[4, 5, 6], [7, 8, 9, 10, 11, 4, 5], [6], [9, 9, 4, 8]]
TARGETS = [[5, 6], [4, 4, 5, 6, 7, 8, 9], [9, 8, 7], [4]]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("attention", ["none", "dot", "general", "additive"])
def test_a_pair_scores_the_same_alone_and_in_a_padded_batch(cell, attention):
    m = model(cell=cell, attention=attention, num_layers=2)
    together = m(**_inputs(batch_of(SOURCES, TARGETS)))  # (N, V), pairs in time-major order
    for b, (s, t) in enumerate(zip(SOURCES, TARGETS)):
        alone = m(**_inputs(batch_of([s], [t])))  # (n+1, V)
        rows = together.view(-1, V_TGT)[_rows_of(b, TARGETS)]
        torch.testing.assert_close(rows, alone, rtol=0, atol=1e-12)
    loss, count, _ = m.loss(batch_of(SOURCES, TARGETS))
    assert count == sum(len(t) + 1 for t in TARGETS)
    assert sum(float(m.loss(batch_of([s], [t]))[0].detach()) for s, t in zip(SOURCES, TARGETS)) \
        == pytest.approx(float(loss.detach()), rel=1e-12)


def _inputs(batch):
    return {"src": batch["src"], "src_lengths": batch["src_lengths"], "tgt_in": batch["tgt_in"],
            "tgt_lengths": batch["tgt_lengths"]}


def _rows_of(b, targets):
    """Indices, among the real steps in time-major order, of sentence ``b``'s steps."""
    lengths = [len(t) + 1 for t in targets]
    order = [(t, i) for t in range(max(lengths)) for i in range(len(targets)) if t < lengths[i]]
    return [k for k, (t, i) in enumerate(order) if i == b]


@pytest.mark.parametrize("attention", ["none", "general"])
def test_decoding_does_not_depend_on_the_batch(attention):
    m = model(attention=attention, cell="gru")
    for beam in (1, 3):
        together = _generate(m, SOURCES, beam)
        alone = [_generate(m, [s], beam)[0] for s in SOURCES]
        assert together == alone


def _generate(m, sources, beam, **kw):
    b = batch_of(sources, [[4]] * len(sources))
    return m.generate(b["src"], b["src_lengths"], [8] * len(sources), beam=beam, nbest=beam,
                      **kw)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_beam_one_equals_greedy_at_model_level(cell):
    for seed in range(3):
        m = model(cell=cell, seed=seed)
        greedy = [h[0][0] for h in _generate(m, SOURCES, 1)]
        beam = [h[0][0] for h in _generate(m, SOURCES, 1, force_beam=True)]
        assert greedy == beam


def test_outputs_never_hold_pad_or_bos():
    m = model()
    with torch.no_grad():
        m.decoder.out.bias[[0, 2]] = 50.0  # the untrained model would love them
    for hyps in _generate(m, SOURCES, 3):
        for tokens, _ in hyps:
            assert 0 not in tokens and 2 not in tokens


def test_teacher_forcing_and_scheduled_sampling():
    m = model(attention="general")
    b = batch_of(SOURCES, TARGETS)
    forced = m(**_inputs(b))
    torch.testing.assert_close(m(**_inputs(b), gold=1.0 - 0.0), forced)
    # gold = 0: every input after <bos> is the model's own argmax, as greedy decoding reads
    free = m(b["src"], b["src_lengths"], b["tgt_in"], 0.0)  # (T, B, V)
    torch.testing.assert_close(
        free[1:].argmax(-1).float(),
        _greedy_inputs(m, b).float()[1:], rtol=0, atol=0)
    assert not torch.allclose(free.view(-1, V_TGT)[:len(forced)], forced)


def _greedy_inputs(m, b):
    """The argmax of each step under free running, fed forward: what gold=0 must read."""
    state = m.encode(b["src"], b["src_lengths"])
    tokens, rows = b["tgt_in"][0], []
    for _ in range(b["tgt_in"].shape[0]):
        log_probs, state = m.decoder.log_probs(tokens, state)
        tokens = log_probs.argmax(-1)
        rows.append(tokens)
    return torch.stack(rows)


def test_the_trainer_drives_the_schedule():
    m = model(scheduled_sampling="linear", sampling_k=0.25)
    seen = []
    m.loss = lambda batch, state=None: (seen.append(m.gold_probability()) or
                                        (m.decoder.out.bias.sum() * 0, 1, None))

    class Batches:
        carries_state = False

        def __len__(self):
            return 4

        def epoch(self, e, start=0):
            return iter([{}] * (4 - start))
    Trainer(m, Batches(), TrainConfig(max_steps=4, lr=1e-3)).fit()
    assert seen == pytest.approx([1.0, 0.8125, 0.625, 0.4375])  # 1 - 0.75 * step / 4
    assert model(scheduled_sampling="inverse_sigmoid", sampling_k=10).gold_probability() \
        == pytest.approx(10 / 11)
    m = model(scheduled_sampling="exponential", sampling_k=0.5)
    m.on_train_step(3, 0.1)
    assert m.gold_probability() == pytest.approx(0.125)
    assert model(teacher_forcing=0.3).gold_probability() == 0.3


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_bridge_and_options(cell, bidirectional):
    m = model(cell=cell, bidirectional=bidirectional, num_layers=2, embedding_size=6,
              tie_embeddings=True, input_feeding=False)
    assert m.decoder.out.weight is m.decoder.embedding.weight
    state = m.encode(torch.tensor([[4, 5], [6, 0]]), torch.tensor([2, 1]))
    assert len(state["hidden"]) == 2 and "feed" not in state
    h = state["hidden"][1]
    assert (h.h if cell == "lstm" else h).shape == (2, 16)
    assert m.describe().startswith(f"encoder 2x{16 // (2 if bidirectional else 1)} "
                                   f"{'bi-' if bidirectional else ''}{cell}")
    with pytest.raises(ValueError, match="even --hidden"):
        Seq2Seq(5, 5, hidden_size=7)
    with pytest.raises(ValueError, match="--embedding equal to --hidden"):
        Seq2Seq(5, 5, hidden_size=8, embedding_size=4, attention="none", tie_embeddings=True)


def test_pair_files(tmp_path):
    assert parse_pair_line("Hola.\tHello.\tCC-BY 2.0", "line 1") == ("Hola.", "Hello.")
    with pytest.raises(UserError, match="line 3 of f has no tab"):
        parse_pair_line("sin tabulador", "line 3 of f")
    with pytest.raises(UserError, match="empty target"):
        parse_pair_line("algo\t  ", "line 1 of f")
    tsv = tmp_path / "p.tsv"
    tsv.write_text("uno\tone\n\ndos\ttwo\tx\n")
    pairs = read_tsv_pairs(tsv, reverse=True)
    assert pairs.pairs == [("one", "uno"), ("two", "dos")] and pairs.source["reversed"]
    (tmp_path / "s").write_text("uno\ndos\n")
    (tmp_path / "t").write_text("one\ntwo\n")
    assert read_aligned(tmp_path / "s", tmp_path / "t").pairs == [("uno", "one"), ("dos", "two")]
    (tmp_path / "t").write_text("one\n")
    with pytest.raises(UserError, match="has 2 lines and the target file"):
        read_aligned(tmp_path / "s", tmp_path / "t")
    assert detokenize(["¿", "qué", "tal", ",", "señor", "?"], "word") == "¿qué tal, señor?"
    assert detokenize(list("ab c"), "char") == "ab c"
