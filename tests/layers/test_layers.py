"""Every implementation against torch.nn: outputs, final states and all gradients.

The layers hold torch.nn's parameters, so each case copies the weights with ``load_state_dict``
and compares; with ``lengths``, torch.nn runs on a ``PackedSequence``.
"""

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import recurrente
from recurrente.layers import registry
from tests.conftest import CELLS

T, B, D, H = 5, 3, 4, 3
CASES = list(itertools.product(CELLS, [1, 3], [False, True], [False, True], [False, True],
                               [False, True]))


def _ids(case):
    (name, *_), layers, bidir, bf, lens, st = case
    return f"{name}-L{layers}{'-bi' if bidir else ''}{'-bf' if bf else ''}" \
           f"{'-len' if lens else ''}{'-h0' if st else ''}"


def run_torch(module, x, state, lengths, batch_first):
    """torch.nn's answer, padded back to ``x``'s shape when lengths are given."""
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    y, final = module(packed, state)
    y, _ = pad_packed_sequence(y, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    return y, final


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def compare(impl, case, dtype, tol):
    (name, cls, kwargs, torch_cls), layers, bidir, bf, use_lengths, use_state = case
    ours = getattr(recurrente, cls)(D, H, layers, bidirectional=bidir, batch_first=bf,
                                    implementation=impl, **kwargs).to(dtype)
    theirs = torch_cls(D, H, layers, bidirectional=bidir, batch_first=bf, **kwargs).to(dtype)
    theirs.load_state_dict(ours.state_dict())
    K = 2 if bidir else 1
    x = torch.randn((B, T, D) if bf else (T, B, D), dtype=dtype, requires_grad=True)
    lengths = torch.tensor([2, T, 4]) if use_lengths else None
    state = None
    if use_state:
        h0 = torch.randn(layers * K, B, H, dtype=dtype, requires_grad=True)
        state = (h0, torch.randn_like(h0).requires_grad_()) if name == "lstm" else h0
    y1, s1 = ours(x, state, lengths)
    y2, s2 = run_torch(theirs, x, tuple(state) if isinstance(state, tuple) else state, lengths, bf)
    torch.testing.assert_close(y1, y2, atol=tol, rtol=tol)
    for a, b in zip(flat(s1), flat(s2)):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    # A random linear loss on the output and the final state reaches every gradient.
    weights = [torch.randn_like(t) for t in [y1, *flat(s1)]]
    inputs = [x] + (flat(state) if use_state else [])
    loss = lambda outs: sum((w * o).sum() for w, o in zip(weights, outs))  # noqa: E731
    g1 = torch.autograd.grad(loss([y1, *flat(s1)]), inputs + list(ours.parameters()))
    g2 = torch.autograd.grad(loss([y2, *flat(s2)]), inputs + list(theirs.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


IMPLEMENTATIONS = registry.available()


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_parity_float64(impl, case):
    compare(impl, case, torch.float64, 1e-8)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", [c for c in CASES if c[1] == 3 and c[2] and c[4]], ids=_ids)
def test_parity_float32(impl, case):
    compare(impl, case, torch.float32, 1e-5)


def test_state_dict_round_trip_both_ways():
    ours = recurrente.LSTM(D, H, 2, bidirectional=True)
    theirs = torch.nn.LSTM(D, H, 2, bidirectional=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(recurrente.LSTM(D, H, 2, bidirectional=True).state_dict(), strict=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_unbatched_input_matches_batch_of_one():
    lstm = recurrente.LSTM(D, H, 2, implementation="scratch")
    x = torch.randn(T, D)
    y, (h, c) = lstm(x)
    y_b, (h_b, c_b) = lstm(x.unsqueeze(1))
    torch.testing.assert_close(y, y_b.squeeze(1))
    assert h.shape == (2, H) and c.shape == (2, H)


def test_state_carries_across_calls():
    """Running a sequence in two halves, carrying the state, equals running it whole."""
    for impl in IMPLEMENTATIONS:
        gru = recurrente.GRU(D, H, 2, implementation=impl).double()
        x = torch.randn(2 * T, B, D, dtype=torch.float64)
        y, h = gru(x)
        y1, h1 = gru(x[:T])
        y2, h2 = gru(x[T:], h1)
        torch.testing.assert_close(torch.cat([y1, y2]), y)
        torch.testing.assert_close(h2, h)
