"""Layer behaviour beyond parity: the course's GRU, dropout, initialisation, bad input."""

import numpy as np
import pytest
import torch

import recurrente
from recurrente.layers import registry
from recurrente.reference import gru as reference_gru

NON_NATIVE = [name for name in registry.available() if name != "native"]


@pytest.mark.parametrize("impl", NON_NATIVE)
def test_course_gru_matches_numpy_reference(impl):
    """reset_after=False: H~_t = tanh(X W + (R ⊙ H) W_hh + b); against the NumPy reference."""
    gru = recurrente.GRU(4, 5, reset_after=False, implementation=impl).double()
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 3, 5, dtype=torch.float64, requires_grad=True)
    y, h = gru(x, h0)
    params = {k: getattr(gru, n).detach().numpy() for k, n in
              [("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"),
               ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]}
    h_all, h_T, cache = reference_gru.forward(x.detach().numpy(), h0[0].detach().numpy(),
                                              params, reset_after=False)
    np.testing.assert_allclose(y.detach().numpy(), h_all, atol=1e-8, rtol=0)
    dy = np.random.default_rng(0).standard_normal(h_all.shape)
    dx, dh0, dparams = reference_gru.backward(dy, None, cache)
    y.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(x.grad.numpy(), dx, atol=1e-8, rtol=0)
    np.testing.assert_allclose(h0.grad[0].numpy(), dh0, atol=1e-8, rtol=0)
    np.testing.assert_allclose(gru.weight_hh_l0.grad.numpy(), dparams["w_hh"], atol=1e-8, rtol=0)


def test_course_gru_refused_by_native_with_alternatives_named():
    with pytest.raises(ValueError, match="reset_after=False.*native.*scratch"):
        recurrente.GRU(4, 5, reset_after=False, implementation="native")


@pytest.mark.parametrize("impl", registry.available())
def test_dropout_between_layers_only_in_training(impl):
    lstm = recurrente.LSTM(4, 8, num_layers=3, dropout=0.5, implementation=impl)
    x = torch.randn(5, 2, 4)
    lstm.train()
    a, _ = lstm(x)
    b, _ = lstm(x)
    assert not torch.allclose(a, b), "training mode must drop different units each call"
    lstm.eval()
    c, _ = lstm(x)
    d, _ = lstm(x)
    torch.testing.assert_close(c, d, rtol=0, atol=0)
    single = recurrente.LSTM(4, 8, num_layers=3, implementation=impl)
    single.load_state_dict(lstm.state_dict())
    torch.testing.assert_close(single(x)[0], c)  # eval with dropout == no dropout


def test_orthogonal_recurrent_init():
    gru = recurrente.GRU(4, 6, num_layers=2, recurrent_init="orthogonal")
    for name, p in gru.named_parameters():
        if name.startswith("weight_hh"):
            for block in p.detach().chunk(3):
                torch.testing.assert_close(block @ block.T, torch.eye(6), atol=1e-5, rtol=0)


def test_forget_bias_one():
    lstm = recurrente.LSTM(4, 6, num_layers=2, bidirectional=True, forget_bias=1.0)
    for name, p in lstm.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(p[6:12] == 1.0)
        if name.startswith("bias_hh"):
            assert torch.all(p[6:12] == 0.0)


def test_default_init_matches_torch_range():
    rnn = recurrente.RNN(4, 16)
    bound = 1 / 16 ** 0.5
    assert all(p.abs().max() <= bound for p in rnn.parameters())


BAD_INPUTS = [
    ("rank", lambda m: m(torch.randn(2, 3, 4, 4)), r"expected input of shape \(T, B, D=4\).*got \(2, 3, 4, 4\)"),
    ("features", lambda m: m(torch.randn(5, 3, 7)), r"expected input with 4 features.*\(5, 3, 7\)"),
    ("integer input", lambda m: m(torch.ones(5, 3, 4, dtype=torch.long)), r"floating-point.*int64"),
    ("state shape", lambda m: m(torch.randn(5, 3, 4), torch.zeros(1, 2, 6)),
     r"expected state of shape \(2, 3, 6\).*got \(1, 2, 6\)"),
    ("lengths too long", lambda m: m(torch.randn(5, 3, 4), lengths=torch.tensor([1, 6, 2])),
     r"lengths between 1 and 5.*from 1 to 6"),
    ("lengths zero", lambda m: m(torch.randn(5, 3, 4), lengths=torch.tensor([0, 5, 2])),
     r"lengths between 1 and 5"),
    ("lengths batch", lambda m: m(torch.randn(5, 3, 4), lengths=torch.tensor([5, 5])),
     r"expected lengths of shape \(3,\).*got \(2,\)"),
    ("lengths float", lambda m: m(torch.randn(5, 3, 4), lengths=torch.tensor([5.0, 1.0, 2.0])),
     r"integer lengths"),
]


@pytest.mark.parametrize("impl", registry.available())
@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_says_expected_and_received(impl, case):
    _, call, message = case
    gru = recurrente.GRU(4, 6, num_layers=2, implementation=impl)
    with pytest.raises(ValueError, match=message):
        call(gru)


def test_bad_lstm_state_and_unknown_implementation():
    lstm = recurrente.LSTM(4, 6)
    with pytest.raises(ValueError, match=r"pair \(h, c\)"):
        lstm(torch.randn(5, 3, 4), torch.zeros(1, 3, 6))
    with pytest.raises(ValueError, match=r"expected c of shape \(1, 3, 6\)"):
        lstm(torch.randn(5, 3, 4), (torch.zeros(1, 3, 6), torch.zeros(1, 3, 5)))
    with pytest.raises(ValueError, match="unknown implementation 'fast'.*native"):
        recurrente.LSTM(4, 6, implementation="fast")
    with pytest.raises(ValueError, match="nonlinearity"):
        recurrente.RNN(4, 6, nonlinearity="sigmoid")
