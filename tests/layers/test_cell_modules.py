"""The single-step cells against torch.nn.*Cell: forward, every gradient, weights both ways."""

import pytest
import torch

import recurrente
from recurrente.layers.cell_modules import GRUCell, LSTMCell, RNNCell

B, D, H = 3, 4, 5
IMPLS = ["auto", "native", "scratch", "fused"]
CASES = [  # (name, our class, kwargs, torch.nn class)
    ("rnn-tanh", RNNCell, {"nonlinearity": "tanh"}, torch.nn.RNNCell),
    ("rnn-relu", RNNCell, {"nonlinearity": "relu"}, torch.nn.RNNCell),
    ("lstm", LSTMCell, {}, torch.nn.LSTMCell),
    ("gru", GRUCell, {}, torch.nn.GRUCell),
]


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def make_state(name, batch=(B,)):
    h = torch.randn(*batch, H, dtype=torch.float64, requires_grad=True)
    return (h, torch.randn_like(h).requires_grad_()) if name == "lstm" else h


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_parity_with_torch_both_ways(case, impl, bias):
    name, cls, kwargs, torch_cls = case
    ours = cls(D, H, bias=bias, implementation=impl, **kwargs).double()
    theirs = torch_cls(D, H, bias=bias, **kwargs).double()
    ours.load_state_dict(theirs.state_dict(), strict=True)  # torch -> ours
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs2 = torch_cls(D, H, bias=bias, **kwargs).double()
    theirs2.load_state_dict(ours.state_dict(), strict=True)  # ours -> torch
    x = torch.randn(B, D, dtype=torch.float64, requires_grad=True)
    state = make_state(name)
    s1, s2 = flat(ours(x, state)), flat(theirs2(x, state))
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    weights = [torch.randn_like(t) for t in s1]
    loss = lambda outs: sum((w * o).sum() for w, o in zip(weights, outs))  # noqa: E731
    inputs = [x] + flat(state)
    g1 = torch.autograd.grad(loss(s1), inputs + list(ours.parameters()))
    g2 = torch.autograd.grad(loss(s2), inputs + list(theirs2.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_no_state_and_unbatched_like_torch(case, impl):
    name, cls, kwargs, torch_cls = case
    ours = cls(D, H, implementation=impl, **kwargs).double()
    theirs = torch_cls(D, H, **kwargs).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(B, D, dtype=torch.float64)
    for a, b in zip(flat(ours(x)), flat(theirs(x))):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    x1, state = x[0], make_state(name, batch=())
    out = ours(x1, state)
    for a, b in zip(flat(out), flat(theirs(x1, state))):
        assert a.shape == (H,)
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    if name == "lstm":
        assert isinstance(out, recurrente.LSTMState)


@pytest.mark.parametrize("bias", [True, False])
def test_course_gru_scratch_equals_fused(bias):
    scratch = GRUCell(D, H, bias=bias, reset_after=False, implementation="scratch").double()
    fused = GRUCell(D, H, bias=bias, reset_after=False, implementation="fused").double()
    auto = GRUCell(D, H, bias=bias, reset_after=False).double()
    fused.load_state_dict(scratch.state_dict())
    auto.load_state_dict(scratch.state_dict())
    assert auto.resolved_implementation() == "fused"
    x, h = torch.randn(B, D, dtype=torch.float64, requires_grad=True), make_state("gru")
    w = torch.randn(B, H, dtype=torch.float64)
    outs = [cell(x, h) for cell in (scratch, fused, auto)]
    grads = [torch.autograd.grad((w * o).sum(), [x, h, *cell.parameters()])
             for o, cell in zip(outs, (scratch, fused, auto))]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(outs[0], outs[2], atol=1e-10, rtol=1e-10)
    for a, b in zip(grads[0], grads[1]):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    # and it is not torch's GRU: the two variants differ
    torch_form = GRUCell(D, H, bias=bias, implementation="scratch").double()
    torch_form.load_state_dict(scratch.state_dict())
    assert not torch.allclose(torch_form(x, h), outs[0])


def test_course_gru_native_refused():
    with pytest.raises(ValueError, match="reset_after=False.*native"):
        GRUCell(D, H, reset_after=False, implementation="native")


@pytest.mark.parametrize("impl", IMPLS)
def test_lstm_cell_steps_equal_lstm_layer(impl):
    T = 6
    layer = recurrente.LSTM(D, H, num_layers=1, implementation="scratch").double()
    cell = LSTMCell(D, H, implementation=impl).double()
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(T, B, D, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    c0 = torch.randn(1, B, H, dtype=torch.float64)
    y, (h_T, c_T) = layer(x, (h0, c0))
    state, hs = (h0[0], c0[0]), []
    for x_t in x:  # x_t (B, D)
        state = cell(x_t, state)
        hs.append(state.h)
    torch.testing.assert_close(torch.stack(hs), y, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(state.h, h_T[0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(state.c, c_T[0], atol=1e-10, rtol=1e-10)


def test_errors_say_expected_and_got():
    cell = LSTMCell(D, H)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 4\).*got \(3, 7\)"):
        cell(torch.randn(3, 7))
    with pytest.raises(ValueError, match=r"expected state of shape \(3, 5\), got \(2, 5\)"):
        cell(torch.randn(3, D), (torch.zeros(2, H), torch.zeros(2, H)))
    with pytest.raises(ValueError, match="pair"):
        cell(torch.randn(3, D), torch.zeros(3, H))
    with pytest.raises(ValueError, match="unknown implementation"):
        RNNCell(D, H, implementation="cuda")
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(D, H, nonlinearity="sigmoid")


def test_forget_bias_and_repr():
    cell = LSTMCell(D, H, forget_bias=1.0)
    assert torch.equal((cell.bias_ih + cell.bias_hh)[H:2 * H], torch.ones(H))
    assert "implementation='auto'" in repr(cell)
    assert "reset_after=False" in repr(GRUCell(D, H, reset_after=False))


def test_fused_under_no_grad_float32():
    cell = LSTMCell(D, H, implementation="fused")
    ref = LSTMCell(D, H, implementation="native")
    ref.load_state_dict(cell.state_dict())
    x = torch.randn(B, D)
    with torch.no_grad():
        for a, b in zip(cell(x), ref(x)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
