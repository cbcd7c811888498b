"""The language model's start and its AWD-LSTM regularisers: what each does in training, and
that evaluation is deterministic and untouched by them."""

import math

import pytest
import torch

from recurrente import LanguageModel
from recurrente.layers import make_layer
from recurrente.layers import base as layer_base
from recurrente.layers.dropout import (SharedMasks, drop_connect, embedding_dropout,
                                       locked_dropout)

REGULARISED = dict(dropout=0.3, dropout_input=0.4, dropout_hidden=0.25, dropout_embedding=0.1,
                   dropout_mask="sequence", weight_dropout=0.5, ar=2.0, tar=1.0)


# ----------------------------------------------------------------------------- initialisation

@pytest.mark.parametrize("vocab,tie", [(60, False), (60, True), (5000, False), (5000, True)])
def test_the_first_loss_is_near_ln_v(vocab, tie):
    """Embedding and output weights U(-0.1, 0.1), output bias 0 (Zaremba et al. 2014): the
    untrained model is close to the uniform guess, loss ln V, whatever V and tying."""
    model = LanguageModel(vocab, hidden_size=128, num_layers=2, tie_weights=tie).eval()
    ids = torch.randint(0, vocab, (40, 8))
    with torch.no_grad():
        loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
        assert abs(float(loss_sum) / count - math.log(vocab)) < 0.02
        if tie:  # nn.Embedding's N(0, 1) start, tied: the bound fails (measured +0.12 to +0.17)
            torch.nn.init.normal_(model.embedding.weight)
            loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
            assert float(loss_sum) / count > math.log(vocab) + 0.05


# ----------------------------------------------------------------------------- the dropouts

def test_embedding_dropout_drops_whole_words():
    weight = torch.randn(20, 6) + 3.0  # no zero entries
    ids = torch.randint(0, 20, (30, 4))
    looked = embedding_dropout(ids, weight, 0.5)  # (T, B, E)
    dropped = (looked == 0).all(-1)  # (T, B)
    assert dropped.any() and (~dropped).any() and not (looked[~dropped] == 0).any()
    torch.testing.assert_close(looked[~dropped], weight[ids][~dropped] * 2)
    for word in ids.unique():  # a word is dropped everywhere in the batch or nowhere
        assert dropped[ids == word].all() or not dropped[ids == word].any()
    torch.testing.assert_close(embedding_dropout(ids, weight, 0.5, training=False), weight[ids])


def test_locked_dropout_uses_one_mask_per_sequence():
    x = torch.ones(50, 16, 10)
    y = locked_dropout(x, 0.5)
    assert torch.equal(y, y[:1].expand_as(y))  # the same at every step
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(y[0, 0], y[0, 1])  # but its own for each sequence
    assert locked_dropout(x, 0.5, training=False) is x
    shared = SharedMasks(0.5)
    first, again = shared(0, x[:5]), shared(0, x[5:])
    assert torch.equal(first[0], again[0]) and not torch.equal(shared(1, x[:5])[0], first[0])


def test_the_model_locks_its_input_and_output_masks_over_time():
    model = LanguageModel(30, hidden_size=16, num_layers=2, dropout=0.5,
                          dropout_mask="sequence").train()
    seen = {}
    model.rnn.register_forward_hook(lambda m, args, out: seen.update(input=args[0]))
    ids = torch.randint(0, 30, (12, 5))
    dropped, out, _ = model.features(ids)
    zero_in = seen["input"] == 0  # (T, B, E): dropped features
    assert zero_in.any() and torch.equal(zero_in, zero_in[:1].expand_as(zero_in))
    zero_out = dropped == 0
    assert zero_out.any() and torch.equal(zero_out, zero_out[:1].expand_as(zero_out))
    step = LanguageModel(30, hidden_size=16, num_layers=2, dropout=0.5).train()
    dropped, _, _ = step.features(ids)
    zero = dropped == 0
    assert not torch.equal(zero, zero[:1].expand_as(zero))  # "step": a new mask per step


@pytest.mark.parametrize("implementation", ["native", "fused", "scratch"])
def test_layers_between_hook_is_the_same_on_every_implementation(implementation):
    """A caller's function between layers (locked dropout) runs on native's per-layer path
    exactly as on the other implementations."""
    torch.manual_seed(0)
    ref = make_layer("lstm", 5, 7, 3, implementation="scratch", bidirectional=True).double()
    layer = make_layer("lstm", 5, 7, 3, implementation=implementation,
                       bidirectional=True).double()
    layer.load_state_dict(ref.state_dict())
    masks = {k: torch.rand(1, 4, 14, dtype=torch.float64) for k in range(2)}
    between = lambda k, y: y * masks[k]  # noqa: E731
    x = torch.randn(9, 4, 5, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 7, 1])
    want, want_state = ref(x, lengths=lengths, between=between)
    got, got_state = layer(x, lengths=lengths, between=between)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got_state.c, want_state.c)


# ----------------------------------------------------------------------------- DropConnect

@pytest.mark.parametrize("implementation", ["native", "fused", "scratch"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_drop_connect_masks_w_hh_once_per_forward(implementation, cell, monkeypatch):
    torch.manual_seed(1)
    layer = make_layer(cell, 6, 8, 2, implementation=implementation, weight_dropout=0.5).double()
    assert layer.implementation_for("cpu") == implementation  # the fast kernels still run
    masked = []

    def spy(weight, p, training=True):
        out = drop_connect(weight, p, training)
        masked.append(out.detach().clone())
        return out
    monkeypatch.setattr(layer_base, "drop_connect", spy)
    x = torch.randn(11, 3, 6, dtype=torch.float64)
    y, _ = layer(x)
    assert len(masked) == 2  # one mask per W_hh per forward, not one per step
    for w in masked:
        assert (w == 0).any() and (w != 0).any()
    plain = make_layer(cell, 6, 8, 2, implementation="scratch").double().eval()
    state = layer.state_dict()
    state["weight_hh_l0"], state["weight_hh_l1"] = masked
    plain.load_state_dict(state)
    torch.testing.assert_close(y, plain(x)[0])  # the same mask at every step
    y.sum().backward()
    assert (layer.weight_hh_l0.grad[masked[0] == 0] == 0).all()
    layer.eval()
    masked.clear()
    y1, y2 = layer(x)[0], layer(x)[0]
    assert not masked and torch.equal(y1, y2)  # evaluation: no mask, deterministic
    plain.load_state_dict(layer.state_dict())
    torch.testing.assert_close(y1, plain(x)[0])


# ----------------------------------------------------------------------------- AR and TAR

def test_ar_and_tar_are_added_in_training_only():
    torch.manual_seed(2)
    base = LanguageModel(25, hidden_size=12, num_layers=2)
    ids = torch.randint(0, 25, (10, 4))
    batch = (ids[:-1], ids[1:])
    plain_sum, count, _ = base.train().loss(batch)
    _, out, _ = base.features(ids[:-1])
    for ar, tar, penalty in [(3.0, 0.0, 3.0 * out.pow(2).mean()),
                             (0.0, 2.0, 2.0 * (out[1:] - out[:-1]).pow(2).mean())]:
        model = LanguageModel(25, hidden_size=12, num_layers=2, ar=ar, tar=tar)
        model.load_state_dict(base.state_dict())
        loss_sum, _, _ = model.train().loss(batch)
        torch.testing.assert_close(loss_sum, plain_sum + penalty * count)
        torch.testing.assert_close(model.eval().loss(batch)[0], base.eval().loss(batch)[0])
        base.train()


def test_evaluation_ignores_every_regulariser():
    torch.manual_seed(3)
    plain = LanguageModel(40, hidden_size=16, num_layers=3, tie_weights=True).eval()
    model = LanguageModel(40, hidden_size=16, num_layers=3, tie_weights=True, **REGULARISED)
    model.load_state_dict(plain.state_dict())
    ids = torch.randint(0, 40, (20, 3))
    model.eval()
    torch.testing.assert_close(model(ids)[0], plain(ids)[0], rtol=0, atol=0)
    torch.testing.assert_close(model(ids)[0], model(ids)[0], rtol=0, atol=0)
    model.train()
    assert not torch.equal(model(ids)[0], plain(ids)[0])  # and training is not evaluation


def test_a_regularised_model_saves_and_loads(tmp_path):
    model = LanguageModel(13, hidden_size=8, num_layers=2, direction="backward",
                          **REGULARISED).eval()
    model.save(tmp_path)
    again = LanguageModel.load(tmp_path).eval()
    assert again.config() == model.config()
    ids = torch.randint(0, 13, (9, 2))
    torch.testing.assert_close(model(ids)[0], again(ids)[0], rtol=0, atol=0)


@pytest.mark.parametrize("bad,match", [(dict(dropout_mask="time"), "dropout_mask"),
                                       (dict(weight_dropout=1.0), "weight_dropout"),
                                       (dict(direction="up"), "direction"),
                                       (dict(ar=-1.0), "ar and tar")])
def test_bad_regulariser_options(bad, match):
    with pytest.raises(ValueError, match=match):
        LanguageModel(10, hidden_size=4, **bad)
