"""Vocabularies, length-bucketed batches with padding, the many-to-one poolings, and the
classifier's promise that padding never changes a sequence's result."""

import numpy as np
import pytest
import torch

from recurrente.data.padded import BucketBatches, pad
from recurrente.data.tokenizers import CharTokenizer, WordTokenizer
from recurrente.data.vocab import BOS, EOS, PAD, UNK, Vocab, load_vocab, split_text
from recurrente.errors import UserError
from recurrente.layers import make_layer
from recurrente.layers.pooling import POOLINGS, Pooling, step_mask
from recurrente.tasks.classify.model import SequenceClassifier

# ----------------------------------------------------------------------------- Vocab


def test_build_puts_specials_first_in_the_order_given():
    seqs = [["b", "a", "b"], ["c", "a", "b", "d"]]
    v = Vocab.build(seqs, specials=(PAD, UNK, BOS, EOS))
    assert v.itos == [PAD, UNK, BOS, EOS, "b", "a", "c", "d"]  # by count, ties first-seen
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    w = Vocab.build(seqs, specials=(UNK, PAD))
    assert w.itos[:2] == [UNK, PAD] and (w.unk_id, w.pad_id) == (0, 1)
    assert w.bos_id is None and w.eos_id is None
    # a special found in the data is not counted as a word
    assert Vocab.build([[PAD, "x", UNK]], specials=(PAD, UNK)).itos == [PAD, UNK, "x"]


def test_build_min_freq_and_max_size():
    seqs = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert Vocab.build(seqs, min_freq=2).itos == [PAD, UNK, "a", "b", "c"]
    assert Vocab.build(seqs, min_freq=3).itos == [PAD, UNK, "a", "b"]
    capped = Vocab.build(seqs, max_size=4)  # specials count towards the size
    assert capped.itos == [PAD, UNK, "a", "b"] and len(capped) == 4
    with pytest.raises(UserError, match="above the 2 special"):
        Vocab.build(seqs, max_size=2)


def test_encode_unknown_becomes_unk():
    v = Vocab.build([["gato", "perro"]], specials=(PAD, UNK))
    ids = v.encode(["perro", "loro", "gato"])
    assert ids.dtype == np.int64 and ids.tolist() == [v.stoi["perro"], v.unk_id, v.stoi["gato"]]
    assert v.count_unknown(["loro", "gato", "pez"]) == 2
    assert v.decode(ids) == ["perro", "gato"]  # <unk> is a special: skipped
    assert v.decode(ids, skip_specials=False) == ["perro", UNK, "gato"]


def test_label_vocab_is_numeric_then_alphabetic_and_refuses_unknown_labels():
    labels = Vocab.of_labels(["10", "2", "1", "2", "10"])
    assert labels.itos == ["1", "2", "10"] and labels.specials == [] and labels.unk_id is None
    assert Vocab.of_labels(["pos", "neg", "10", "2"]).itos == ["2", "10", "neg", "pos"]
    # the ids do not depend on the order labels appear in
    assert Vocab.of_labels(["b", "a", "c"]).itos == Vocab.of_labels(["c", "b", "a"]).itos
    assert labels.encode(["10", "1"], what="label").tolist() == [2, 0]
    with pytest.raises(UserError) as err:
        labels.encode(["1", "tres"], what="label")
    message = str(err.value)
    assert "'tres'" in message and "label" in message and "\n" not in message


def test_save_load_round_trip(tmp_path):
    v = Vocab.build([split_text("¿Qué tal, señor? Muy bien, ¿y usted?", "word", True)],
                    specials=(PAD, UNK, BOS), split="word", lowercase=True)
    path = v.save(tmp_path / "vocabs" / "source.json")
    back = load_vocab(path)
    assert isinstance(back, Vocab)
    assert (back.itos, back.specials, back.split, back.lowercase) == \
        (v.itos, v.specials, "word", True)
    text = "¿QUÉ tal, amigo?"
    assert back.encode_text(text).tolist() == v.encode_text(text).tolist()
    assert back.tokens(text) == ["¿", "qué", "tal", ",", "amigo", "?"]
    labels = Vocab.of_labels(["2", "10"])
    assert load_vocab(labels.save(tmp_path / "labels.json")).itos == ["2", "10"]


def test_split_text_word_mode_on_spanish_and_french():
    assert split_text("¿Qué tal, señor?", "word") == ["¿", "Qué", "tal", ",", "señor", "?"]
    assert split_text("l'amour, bien-être!", "word") == ["l'amour", ",", "bien-être", "!"]
    assert split_text("¡Hola, MUNDO!", "word", lowercase=True) == ["¡", "hola", ",", "mundo", "!"]
    assert split_text("a  b\tc", "whitespace") == ["a", "b", "c"]
    assert split_text("ñu", "char") == ["ñ", "u"]
    with pytest.raises(UserError, match="text split"):
        split_text("x", "sentencepiece")


def test_load_vocab_reads_an_old_language_model_tokenizer(tmp_path):
    text = "hola mundo\nhola señor\n"
    tok = CharTokenizer.fit(text)
    tok.save(tmp_path / "tokenizer.json")
    back = load_vocab(tmp_path / "tokenizer.json")
    assert isinstance(back, CharTokenizer) and back.itos == tok.itos
    assert back.encode("hola ñ").tolist() == tok.encode("hola ñ").tolist()
    words = WordTokenizer.fit(text)
    words.save(tmp_path / "words.json")
    assert load_vocab(tmp_path / "words.json").itos == words.itos
    with pytest.raises(UserError, match="not found"):
        load_vocab(tmp_path / "missing.json")


# ----------------------------------------------------------------------------- BucketBatches


def _lengths(n=503, seed=0):
    return np.random.default_rng(seed).integers(1, 200, size=n)


def test_every_index_exactly_once_per_epoch():
    lengths = _lengths()
    batches = BucketBatches(lengths, collate=lambda idx: idx, batch_size=16, seed=3, pool=4)
    assert len(batches) == -(-503 // 16)
    for e in range(3):
        served = list(batches.epoch(e))
        assert len(served) == len(batches)
        assert all(1 <= len(b) <= 16 for b in served)
        everything = np.concatenate(served)
        assert np.array_equal(np.sort(everything), np.arange(503))


def test_order_is_deterministic_in_seed_and_epoch():
    lengths = _lengths()
    a = BucketBatches(lengths, lambda i: i, 16, seed=3, pool=4)
    b = BucketBatches(lengths, lambda i: i, 16, seed=3, pool=4)
    c = BucketBatches(lengths, lambda i: i, 16, seed=4, pool=4)
    flat = lambda bb, e: np.concatenate(list(bb.epoch(e)))  # noqa: E731
    assert np.array_equal(flat(a, 0), flat(b, 0)) and np.array_equal(flat(a, 5), flat(b, 5))
    assert not np.array_equal(flat(a, 0), flat(a, 1))
    assert not np.array_equal(flat(a, 0), flat(c, 0))


def _padding_fraction(batches, lengths, epoch=0):
    wasted = []
    for idx in batches.epoch(epoch):
        ls = lengths[idx]
        wasted.append(1 - ls.sum() / (ls.max() * len(ls)))
    return float(np.mean(wasted))


def test_batches_group_similar_lengths():
    lengths = _lengths(2000)
    bucketed = _padding_fraction(BucketBatches(lengths, lambda i: i, 32, seed=0), lengths)
    in_order = _padding_fraction(BucketBatches(lengths, lambda i: i, 32, shuffle=False), lengths)
    assert in_order > 0.4, in_order  # uniform lengths 1..199: about half of each batch padding
    assert bucketed < in_order / 5, (bucketed, in_order)


def test_shuffle_false_keeps_file_order():
    batches = BucketBatches([3, 1, 2, 5, 4], lambda i: i.tolist(), 2, shuffle=False)
    assert list(batches.epoch(0)) == [[0, 1], [2, 3], [4]] == list(batches.epoch(7))


def test_epoch_start_is_the_tail_of_the_full_epoch():
    lengths = _lengths(300)
    batches = BucketBatches(lengths, lambda i: i, 8, seed=11, pool=3)
    full = list(batches.epoch(2))
    for k in (0, 1, 7, len(full) - 1, len(full)):
        tail = list(batches.epoch(2, start=k))
        assert len(tail) == len(full) - k
        assert all(np.array_equal(x, y) for x, y in zip(tail, full[k:]))
    with pytest.raises(ValueError):
        list(batches.epoch(2, start=len(full) + 1))


def test_bad_batch_arguments():
    with pytest.raises(UserError, match="--batch-size"):
        BucketBatches([1, 2], lambda i: i, 0)
    with pytest.raises(UserError, match="at least one example"):
        BucketBatches([], lambda i: i, 4)


def test_pad_shapes_and_values():
    ids, lengths = pad([np.array([5, 6, 7]), np.array([8]), np.array([9, 10])], pad_id=0)
    assert ids.shape == (3, 3) and ids.dtype == torch.int64  # (T, B), time-major
    assert ids.T.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2] and lengths.dtype == torch.int64
    ids, _ = pad([np.array([1]), np.array([2, 3])], pad_id=-4)
    assert ids.T.tolist() == [[1, -4], [2, 3]]
    with pytest.raises(ValueError):
        pad([np.array([1]), np.array([], dtype=np.int64)], pad_id=0)


# ----------------------------------------------------------------------------- pooling

LENGTHS = torch.tensor([3, 7, 1, 5])


def _padded_batch(lengths, features=5):
    T, B = int(lengths.max()), len(lengths)
    x = torch.randn(T, B, features, dtype=torch.float64)
    x = x.masked_fill(~step_mask(lengths, T).unsqueeze(-1), 123.0)  # garbage in padding
    return x


@pytest.mark.parametrize("kind", POOLINGS)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_pooling_of_a_padded_batch_equals_each_sequence_alone(kind, cell):
    layer = make_layer(cell, 5, 4, 2, bidirectional=True).double()
    pool = Pooling(kind, 8, directions=2).double()
    x = _padded_batch(LENGTHS)
    out, state = layer(x, lengths=LENGTHS)  # (T, B, 8)
    pooled, weights = pool(out, LENGTHS, state)  # (B, 8)
    assert pooled.shape == (4, 8)
    for b, n in enumerate(LENGTHS.tolist()):
        alone_out, alone_state = layer(x[:n, b:b + 1], lengths=LENGTHS[b:b + 1])
        alone, _ = pool(alone_out, LENGTHS[b:b + 1], alone_state)
        torch.testing.assert_close(pooled[b], alone[0], rtol=0, atol=1e-12)
        plain_out, plain_state = layer(x[:n, b:b + 1])  # no lengths at all
        plain, _ = pool(plain_out, LENGTHS[b:b + 1], plain_state)
        torch.testing.assert_close(pooled[b], plain[0], rtol=0, atol=1e-12)


def test_last_pooling_is_forward_at_the_end_and_backward_at_the_start():
    layer = make_layer("lstm", 5, 4, 1, bidirectional=True).double()
    x = _padded_batch(LENGTHS)
    out, state = layer(x, lengths=LENGTHS)
    pooled, _ = Pooling("last", 8, 2)(out, LENGTHS, state)
    for b, n in enumerate(LENGTHS.tolist()):
        expected = torch.cat([out[n - 1, b, :4], out[0, b, 4:]])
        torch.testing.assert_close(pooled[b], expected, rtol=0, atol=1e-12)


def test_pooling_in_float32_matches_alone_to_1e6():
    layer = make_layer("lstm", 5, 4, 1, bidirectional=True)
    x = _padded_batch(LENGTHS).float()
    out, state = layer(x, lengths=LENGTHS)
    for kind in POOLINGS:
        pool = Pooling(kind, 8, 2)
        pooled, _ = pool(out, LENGTHS, state)
        for b, n in enumerate(LENGTHS.tolist()):
            o, s = layer(x[:n, b:b + 1], lengths=LENGTHS[b:b + 1])
            torch.testing.assert_close(pooled[b], pool(o, LENGTHS[b:b + 1], s)[0][0],
                                       rtol=0, atol=1e-6)


def test_max_pooling_ignores_padding_when_every_real_value_is_negative():
    lengths = torch.tensor([2, 4, 1])
    out = -1.0 - torch.rand(4, 3, 6)  # every value in [-2, -1)
    out = out.masked_fill(~step_mask(lengths, 4).unsqueeze(-1), 0.0)  # zeros on padding
    pooled, _ = Pooling("max", 6)(out, lengths)
    assert (pooled < -0.99).all(), pooled
    for b, n in enumerate(lengths.tolist()):
        assert torch.equal(pooled[b], out[:n, b].amax(0))
    mean, _ = Pooling("mean", 6)(out, lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(mean[b], out[:n, b].mean(0))


def test_attention_weights_are_zero_on_padding_and_sum_to_one():
    lengths = torch.tensor([2, 5, 1, 3])
    out = torch.randn(5, 4, 6) * 3
    out = out.masked_fill(~step_mask(lengths, 5).unsqueeze(-1), 50.0)  # tempting padding
    pooled, weights = Pooling("attention", 6)(out, lengths)
    assert weights.shape == (5, 4)
    mask = step_mask(lengths, 5)
    assert (weights[~mask] == 0).all()
    assert (weights[mask] > 0).all()
    torch.testing.assert_close(weights.sum(0), torch.ones(4))
    torch.testing.assert_close(pooled, (weights.unsqueeze(-1) * out.masked_fill(
        ~mask.unsqueeze(-1), 0)).sum(0))


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="pooling"):
        Pooling("nope", 4)


# ----------------------------------------------------------------------------- classifier


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_classifier_logits_do_not_depend_on_the_batch(pooling, bidirectional):
    model = SequenceClassifier(30, 3, hidden_size=6, num_layers=2, embedding_size=5,
                               bidirectional=bidirectional, pooling=pooling, dropout=0.3)
    model.eval()  # dropout off
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 30, size=n) for n in (4, 9, 1, 6, 9, 2)]
    ids, lengths = pad(seqs, model.embedding.padding_idx)
    with torch.no_grad():
        batch = model(ids, lengths)  # (B, C)
        assert batch.shape == (6, 3)
        for b, seq in enumerate(seqs):
            i, l = pad([seq], 0)
            torch.testing.assert_close(batch[b], model(i, l)[0], rtol=0, atol=1e-6)
        logits, weights = model(ids, lengths, return_weights=True)
        assert (weights is not None) == (pooling == "attention")
    # and the same through predict_ids, which sorts by length
    probs = model.predict_ids(seqs)
    np.testing.assert_allclose(probs, torch.softmax(batch.double(), -1).numpy(), atol=1e-6)
