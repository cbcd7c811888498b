"""Attention: masked weights, padding independence, a hand computation, gradcheck."""

import math

import pytest
import torch

from recurrente.errors import UserError
from recurrente.tasks.seq2seq.attention import Attention, PreparedKeys

S, B, Hq, Hk = 6, 3, 4, 5
KINDS = [("dot", Hk), ("general", Hq), ("additive", Hq)]  # (kind, query size)


def batch(dtype=torch.float32):
    keys = torch.randn(S, B, Hk, dtype=dtype)
    lengths = torch.tensor([6, 2, 4])
    mask = torch.arange(S).unsqueeze(1) < lengths  # (S, B)
    return keys, mask, lengths


@pytest.mark.parametrize("kind,q", KINDS)
def test_weights_sum_to_one_and_zero_on_padding(kind, q):
    attention = Attention(kind, q, Hk, attn_size=7)
    keys, mask, _ = batch()
    context, weights = attention(torch.randn(B, q), keys, mask)
    assert context.shape == (B, Hk) and weights.shape == (S, B)
    torch.testing.assert_close(weights.sum(0), torch.ones(B))
    assert torch.all(weights[~mask] == 0)
    assert torch.all(weights[mask] > 0)


@pytest.mark.parametrize("kind,q", KINDS)
def test_padded_batch_equals_each_item_alone(kind, q):
    attention = Attention(kind, q, Hk).double()
    keys, mask, lengths = batch(torch.float64)
    keys[~mask] = 1e3  # garbage on padding must not leak
    query = torch.randn(B, q, dtype=torch.float64)
    memory = attention.prepare(keys)
    context, weights = attention(query, memory, mask)
    for b, n in enumerate(lengths.tolist()):
        c1, w1 = attention(query[b:b + 1], keys[:n, b:b + 1])
        torch.testing.assert_close(context[b], c1[0], atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(weights[:n, b], w1[:, 0], atol=1e-12, rtol=1e-12)


def test_dot_equals_hand_computation():
    attention = Attention("dot", Hk, Hk)
    keys, mask, lengths = batch(torch.float64)
    query = torch.randn(B, Hk, dtype=torch.float64)
    context, weights = attention(query, keys, mask)
    for b, n in enumerate(lengths.tolist()):
        exps = [math.exp(sum(keys[j, b, k].item() * query[b, k].item() for k in range(Hk)))
                for j in range(n)]  # exp(h_t · s_j), one scalar at a time
        expected = torch.tensor([e / sum(exps) for e in exps], dtype=torch.float64)
        torch.testing.assert_close(weights[:n, b], expected)
        torch.testing.assert_close(context[b], (expected.unsqueeze(1) * keys[:n, b]).sum(0))


def test_general_and_additive_equal_their_equations():
    keys, mask, _ = batch(torch.float64)
    general = Attention("general", Hq, Hk).double()
    q = torch.randn(B, Hq, dtype=torch.float64)
    e = torch.einsum("bq,qk,sbk->sb", q, general.W.weight, keys)  # h_t W s_j
    expected = e.masked_fill(~mask, float("-inf")).softmax(0)
    torch.testing.assert_close(general(q, keys, mask)[1], expected)
    additive = Attention("additive", Hq, Hk, attn_size=7).double()
    hidden = torch.tanh(additive.W_q(q) + additive.W_k(keys))  # (S, B, A)
    e = hidden @ additive.v.weight[0]  # v · tanh(W_q h_t + b + W_k s_j)
    expected = e.masked_fill(~mask, float("-inf")).softmax(0)
    torch.testing.assert_close(additive(q, keys, mask)[1], expected)


@pytest.mark.parametrize("kind,q", KINDS)
def test_gradcheck_float64(kind, q):
    attention = Attention(kind, q, Hk, attn_size=3).double()
    keys, mask, _ = batch(torch.float64)
    keys.requires_grad_()
    query = torch.randn(B, q, dtype=torch.float64, requires_grad=True)
    names, params = zip(*attention.named_parameters()) if kind != "dot" else ((), ())

    def fn(query, keys, *weights):
        return torch.func.functional_call(attention, dict(zip(names, weights)),
                                          (query, keys, mask))

    inputs = (query, keys, *[p.detach().clone().requires_grad_() for p in params])
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6)


def test_empty_column_gives_zeros_not_nan():
    attention = Attention("additive", Hq, Hk)
    keys, mask, _ = batch()
    mask[:, 1] = False
    query = torch.randn(B, Hq, requires_grad=True)
    context, weights = attention(query, keys, mask)
    assert torch.all(weights[:, 1] == 0) and torch.all(context[1] == 0)
    context.sum().backward()
    assert torch.isfinite(query.grad).all()


def test_prepare_once_and_none_kind_and_errors():
    attention = Attention("general", Hq, Hk)
    keys, mask, _ = batch()
    memory = attention.prepare(keys)
    assert isinstance(memory, PreparedKeys) and memory.projected.shape == (S, B, Hq)
    query = torch.randn(B, Hq)
    torch.testing.assert_close(attention(query, memory, mask)[0], attention(query, keys, mask)[0])
    none = Attention("none", Hq, Hk)
    assert not none.enabled and list(none.parameters()) == []
    context, weights = none(query, keys, mask)
    assert context.shape == (B, Hk) and not weights.any()
    with pytest.raises(ValueError, match="equal query and key sizes"):
        Attention("dot", Hq, Hk)
    with pytest.raises(UserError, match="expected attention kind"):
        Attention("cosine", Hq, Hk)
    with pytest.raises(ValueError, match=r"expected query of shape \(3, 4\), got \(3, 5\)"):
        attention(torch.randn(B, Hk), keys, mask)
    with pytest.raises(ValueError, match="bool mask"):
        attention(query, keys, mask.long())
