"""Decoding: greedy, sampling and beam search on Markov toys and a tiny attentive decoder;
the teacher-forcing schedules."""

import itertools
import math

import pytest
import torch

from recurrente.errors import UserError
from recurrente.layers.cell_modules import LSTMCell
from recurrente.layers.state import LSTMState
from recurrente.tasks.seq2seq.attention import Attention
from recurrente.train.teacher_forcing import (ScheduledSampling, mix,
                                               teacher_forcing_probability)
from recurrente.tasks.seq2seq.search import (beam_search, greedy, make_reorder, max_lengths,
                                             reorder_batch, sample)

EOS, V = 0, 4  # tokens 0 (eos), 1, 2, 3; bos is row V of each table
BOS = V


def markov_tables(n, seed, sharpness=1.5):
    """``n`` random transition tables ``log p(next | previous)``: ``(n, V+1, V)``."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, V + 1, V, generator=g, dtype=torch.float64) * sharpness
    return logits.log_softmax(-1)


def markov_decoder(tables):
    """A ``step`` over rows whose state says which table (sentence) each row follows.

    The state mixes the layouts the default reorder handles: ``sid (N,)`` on dim 0 and a
    ``(1, N, 2)`` tensor on dim 1, whose first feature repeats ``sid`` (checked at every step).
    """
    def step(tokens, state):
        sid, h = state["sid"], state["h"]
        assert torch.equal(h[0, :, 0].long(), sid), "reorder mixed up the rows"
        return tables[sid, tokens], {"sid": sid, "h": h + 0}
    B = tables.shape[0]
    sid = torch.arange(B)
    return step, {"sid": sid, "h": torch.stack([sid.double(), torch.zeros(B)], 1)[None]}


def all_sequences(table, L, alpha):
    """Every (tokens, normalised score) of length <= L: ending in eos, or L tokens without."""
    out = []
    for n in range(1, L + 1):
        for body in itertools.product(range(1, V), repeat=n - 1):
            endings = [EOS] + (list(range(1, V)) if n == L else [])
            for last in endings:
                seq, prev, total = list(body) + [last], BOS, 0.0
                for tok in seq:
                    total, prev = total + float(table[prev, tok]), tok
                out.append((list(body) + ([] if last == EOS else [last]), total / n ** alpha))
    return sorted(out, key=lambda h: -h[1])


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("beam,L", [(8, 2), (16, 3)])
@pytest.mark.parametrize("seed", range(4))
def test_beam_finds_the_best_of_all_sequences(seed, beam, L, alpha):
    tables = markov_tables(1, seed)
    step, state = markov_decoder(tables)
    truth = all_sequences(tables[0], L, alpha)
    nbest = 5
    result = beam_search(step, state, None, BOS, EOS, [L], beam=beam, nbest=nbest,
                         length_penalty=alpha)[0]
    assert len(result) == nbest
    scores = [s for _, s in result]
    assert scores == sorted(scores, reverse=True)
    assert len({tuple(t) for t, _ in result}) == nbest  # distinct
    for (tokens, score), (true_tokens, true_score) in zip(result, truth):
        assert math.isclose(score, true_score, abs_tol=1e-12)
    assert result[0][0] == truth[0][0]
    best_only = beam_search(step, state, None, BOS, EOS, [L], beam=beam, length_penalty=alpha)
    assert best_only[0] == result[:1]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_beam_one_equals_greedy(seed, alpha):
    tables = markov_tables(4, seed)
    step, state = markov_decoder(tables)
    lengths = [7, 1, 12, 4]
    beams = beam_search(step, state, None, BOS, EOS, lengths, beam=1, length_penalty=alpha)
    assert [b[0][0] for b in beams] == greedy(step, state, BOS, EOS, lengths)


@pytest.mark.parametrize("seed", range(3))
def test_batch_independence(seed):
    tables = markov_tables(4, seed, sharpness=0.7)  # flat: long searches, much pruning
    lengths = [9, 2, 14, 5]
    step, state = markov_decoder(tables)
    together = beam_search(step, state, None, BOS, EOS, lengths, beam=3, nbest=3)
    together_greedy = greedy(step, state, BOS, EOS, lengths)
    for b in range(4):
        alone_step, alone_state = markov_decoder(tables[b:b + 1])
        alone = beam_search(alone_step, alone_state, None, BOS, EOS, [lengths[b]], beam=3,
                            nbest=3)
        assert alone[0] == together[b]
        assert greedy(alone_step, alone_state, BOS, EOS, [lengths[b]])[0] == together_greedy[b]
        assert all(len(tokens) <= lengths[b] for tokens, _ in together[b])


def test_greedy_stops_at_eos_and_max_len():
    table = torch.full((V + 1, V), -50.0, dtype=torch.float64)
    table[BOS, 2] = table[2, 3] = table[3, EOS] = 0.0  # bos -> 2 -> 3 -> eos
    step, state = markov_decoder(table.log_softmax(-1)[None].expand(3, -1, -1))
    assert greedy(step, state, BOS, EOS, [10, 2, 3]) == [[2, 3], [2, 3], [2, 3]]
    assert greedy(step, state, BOS, EOS, [1, 1, 10]) == [[2], [2], [2, 3]]
    result = beam_search(step, state, None, BOS, EOS, [10, 1, 3], beam=2, nbest=2,
                         length_penalty=0.0)
    assert [r[0][0] for r in result] == [[2, 3], [2], [2, 3]]


def test_sampling_reproducible_and_greedy_limits():
    tables = markov_tables(5, 0)
    step, state = markov_decoder(tables)
    lengths = [8] * 5
    draw = lambda seed, **kw: sample(step, state, BOS, EOS, lengths,  # noqa: E731
                                     generator=torch.Generator().manual_seed(seed), **kw)
    assert draw(1) == draw(1)
    assert any(draw(1) != draw(s) for s in range(2, 6))
    best = greedy(step, state, BOS, EOS, lengths)
    assert draw(3, temperature=0.0) == best
    assert draw(3, top_k=1) == best
    assert draw(3, temperature=1e-4) == best
    with pytest.raises(UserError, match="top-k"):
        draw(3, top_k=0)


def tiny_decoder(S=5, B=3, E=6, Hd=7, seed=0):
    """An attentive LSTM decoder over a padded source: a realistic ``step`` and state."""
    torch.manual_seed(seed)
    cell = LSTMCell(E + E, Hd).double()
    attention = Attention("additive", Hd, E).double()
    embed = torch.nn.Embedding(V + 1, E).double()
    out = torch.nn.Linear(Hd + E, V).double()
    lengths = torch.tensor([5, 2, 4])[:B]
    mask = torch.arange(S).unsqueeze(1) < lengths  # (S, B)
    keys = torch.randn(S, B, E, dtype=torch.float64).masked_fill(~mask.unsqueeze(-1), 7.0)

    @torch.no_grad()
    def step(tokens, state):
        x = torch.cat([embed(tokens), state["feed"]], -1)  # (N, 2E) input feeding
        h, c = cell(x, (state["h"], state["c"]))
        context, _ = attention(h, state["memory"], state["mask"])  # (N, E)
        log_probs = out(torch.cat([h, context], -1)).log_softmax(-1)  # (N, V)
        return log_probs, dict(state, h=h, c=c, feed=context)

    with torch.no_grad():
        state = {"h": torch.zeros(B, Hd, dtype=torch.float64), "c": torch.zeros(B, Hd,
                 dtype=torch.float64), "feed": torch.zeros(B, E, dtype=torch.float64),
                 "memory": attention.prepare(keys), "mask": mask}
    return step, state, lengths


def test_attentive_decoder_batch_independence():
    step, state, lengths = tiny_decoder()
    reorder = make_reorder(mask=1)  # (S, B): batch on dim 1; the rest by the default rule
    max_len = max_lengths(lengths, a=1.0, b=3)
    together = beam_search(step, state, reorder, BOS, EOS, max_len, beam=4, nbest=2)
    for b in range(3):
        n = int(lengths[b])
        alone_state = reorder(state, torch.tensor([b]))
        alone_state["memory"] = type(state["memory"])(*(t[:n] for t in alone_state["memory"]))
        alone_state["mask"] = alone_state["mask"][:n]
        alone = beam_search(step, alone_state, reorder, BOS, EOS, [max_len[b]], beam=4, nbest=2)
        assert [t for t, _ in alone[0]] == [t for t, _ in together[b]]
        for (_, s1), (_, s2) in zip(alone[0], together[b]):
            assert math.isclose(s1, s2, rel_tol=1e-9)


def test_reorder_batch_nested():
    index = torch.tensor([2, 0, 0])
    state = {"lstm": LSTMState(torch.arange(6.).view(1, 3, 2), torch.arange(6.).view(1, 3, 2)),
             "pair": (torch.arange(3), [torch.arange(6).view(3, 2)]), "n": 7, "none": None}
    out = reorder_batch(state, index)
    assert isinstance(out["lstm"], LSTMState)
    assert out["lstm"].h[0, :, 0].tolist() == [4.0, 0.0, 0.0]
    assert out["pair"][0].tolist() == [2, 0, 0]
    assert out["pair"][1][0].tolist() == [[4, 5], [0, 1], [0, 1]]
    assert out["n"] == 7 and out["none"] is None
    mask = torch.tensor([[True, False, True], [True, False, False]])  # (S=2, B=3)
    assert make_reorder(mask=1)({"mask": mask}, index)["mask"].tolist() == \
        [[True, True, True], [False, True, True]]


def test_argument_errors():
    step, state = markov_decoder(markov_tables(1, 0))
    with pytest.raises(ValueError, match="nbest <= beam"):
        beam_search(step, state, None, BOS, EOS, [3], beam=2, nbest=3)
    with pytest.raises(ValueError, match="one length per sentence"):
        greedy(step, state, BOS, EOS, 3)
    with pytest.raises(ValueError, match=">= 1"):
        greedy(step, state, BOS, EOS, [0])
    assert max_lengths([0, 4, 10], a=1.5, b=1.0, cap=12) == [1, 7, 12]


def test_schedule_values():
    p = teacher_forcing_probability
    assert p("constant", 123, k=0.25) == 0.25 and p("constant", 5) == 1.0
    assert p("linear", 0, 100, k=0.1) == 1.0
    assert math.isclose(p("linear", 50, 100, k=0.1), 0.55)
    assert math.isclose(p("linear", 100, 100, k=0.1), 0.1) and p("linear", 500, 100, 0.1) == 0.1
    assert p("linear", 25, 100) == 0.75
    assert math.isclose(p("exponential", 10, k=0.99), 0.99 ** 10)
    assert math.isclose(p("inverse_sigmoid", 0, k=10), 10 / 11)
    assert math.isclose(p("inverse_sigmoid", 30, k=10), 10 / (10 + math.exp(3)))
    assert p("inverse_sigmoid", 10 ** 9, k=10) == 0.0  # no overflow
    with pytest.raises(UserError, match="expected a value of k"):
        p("exponential", 3)
    with pytest.raises(UserError, match="expected teacher forcing schedule"):
        p("cosine", 3)
    with pytest.raises(UserError, match="total"):
        p("linear", 3)
    schedule = ScheduledSampling("exponential", k=0.5)
    assert schedule(3) == 0.125


def test_mix_per_token():
    gold, predicted = torch.zeros(10_000, dtype=torch.long), torch.ones(10_000, dtype=torch.long)
    assert torch.equal(mix(gold, predicted, 1.0), gold)
    assert torch.equal(mix(gold, predicted, 0.0), predicted)
    a = mix(gold, predicted, 0.3, torch.Generator().manual_seed(4))
    b = mix(gold, predicted, 0.3, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert abs((a == 0).float().mean().item() - 0.3) < 0.03
