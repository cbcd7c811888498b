"""The CRF against brute force: every tag path of short sequences enumerated in float64.

Each sequence of a padded, mixed-length batch is checked against the enumeration over its own
unpadded emissions: log Z, gold score, Viterbi, n-best, marginals, with and without a mask.
"""

import itertools
import math

import pytest
import torch

from recurrente.errors import UserError
from recurrente.tasks.tag.crf import CRF

N, T = 3, 4
LENGTHS = [3, 1, 4, 2]  # mixed, not sorted, one of them full length


def make_crf(n=N, masked=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    masks = {}
    if masked:
        masks = {"allowed": torch.rand(n, n, generator=gen) < 0.6,
                 "allowed_start": torch.rand(n, generator=gen) < 0.6,
                 "allowed_end": torch.rand(n, generator=gen) < 0.6}
        for m in masks.values():  # tag 0 alone is always a path: never an empty enumeration
            m.view(-1)[0] = True
    crf = CRF(n, **masks).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return crf


def batch(n=N, lengths=LENGTHS, seed=1, pad=1e3):
    """Emissions (T, B, n) and tags (T, B) with garbage at the padding positions."""
    gen = torch.Generator().manual_seed(seed)
    t_max = max(lengths)
    emissions = torch.randn(t_max, len(lengths), n, generator=gen, dtype=torch.float64)
    tags = torch.randint(n, (t_max, len(lengths)), generator=gen)
    for b, length in enumerate(lengths):
        emissions[length:, b] = pad
        tags[length:, b] = -1
    return emissions, tags, torch.tensor(lengths)


def gold_paths(crf, emissions, lengths=LENGTHS):
    """(T, B) tags: each sequence's own best path (so an allowed one), zeros on the padding."""
    columns = [crf.decode(emissions[:n, b:b + 1])[0] + [0] * (emissions.shape[0] - n)
               for b, n in enumerate(lengths)]
    return torch.tensor(columns).T


def path_ok(crf, path):
    return (bool(crf.allowed_start[path[0]]) and bool(crf.allowed_end[path[-1]])
            and all(bool(crf.allowed[i, j]) for i, j in zip(path, path[1:])))


def path_score(crf, emit, path):
    """score(x, y) from the definition, emit (L, N) float64."""
    with torch.no_grad():
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(emit[t, y] for t, y in enumerate(path))
        return float(s + sum(crf.transitions[i, j] for i, j in zip(path, path[1:])))


def enumerate_paths(crf, emit):
    """{path: score} over every allowed path of one unpadded sequence ``emit (L, N)``."""
    paths = itertools.product(range(crf.num_tags), repeat=emit.shape[0])
    return {p: path_score(crf, emit, p) for p in paths if path_ok(crf, p)}


def log_sum_exp(values):
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


@pytest.mark.parametrize("masked", [False, True])
def test_partition_score_viterbi_match_enumeration(masked):
    crf = make_crf(masked=masked)
    emissions, tags, lengths = batch()
    log_z = crf.log_partition(emissions, lengths)
    best = crf.decode(emissions, lengths)
    for b, length in enumerate(LENGTHS):
        table = enumerate_paths(crf, emissions[:length, b].detach())
        assert log_z[b].item() == pytest.approx(log_sum_exp(list(table.values())), abs=1e-9)
        assert tuple(best[b]) == max(table, key=table.get)
        assert path_ok(crf, best[b])
    gold = torch.stack([torch.tensor(min(enumerate_paths(crf, emissions[:n, b]).items(),
                                         key=lambda item: item[1])[0] + (0,) * (T - n))
                        for b, n in enumerate(LENGTHS)], dim=1)  # (T, B): the worst allowed path
    gold_score = crf.score(emissions, gold, lengths)
    for b, n in enumerate(LENGTHS):
        path = tuple(gold[:n, b].tolist())
        expected = path_score(crf, emissions[:n, b], path)
        assert gold_score[b].item() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("masked", [False, True])
def test_nbest_is_the_top_k_of_the_enumeration(masked):
    crf, k = make_crf(masked=masked), 7
    emissions, _, lengths = batch()
    result = crf.nbest(emissions, lengths, k=k)
    log_z = crf.log_partition(emissions, lengths)
    for b, n in enumerate(LENGTHS):
        table = enumerate_paths(crf, emissions[:n, b])
        ranked = sorted(table.items(), key=lambda item: -item[1])[:k]
        assert len(result[b]) == len(ranked)
        for got, (path, score) in zip(result[b], ranked):
            assert got.score == pytest.approx(score, abs=1e-9)
            assert tuple(got.tags) == path  # random float64 scores are distinct
            assert got.log_prob == pytest.approx(score - log_z[b].item(), abs=1e-9)
            assert path_ok(crf, got.tags)
        assert result[b][0].tags == crf.decode(emissions, lengths)[b]


def test_nbest_with_ties_returns_distinct_best_paths():
    crf = CRF(3).double()
    for p in crf.parameters():
        torch.nn.init.zeros_(p)
    emissions = torch.zeros(3, 2, 3, dtype=torch.float64)
    emissions[:, :, 2] = -1.0  # paths avoiding tag 2 tie at 0: 8 of them for length 3
    result = crf.nbest(emissions, torch.tensor([3, 2]), k=10)
    assert [p.score for p in result[0]] == [0.0] * 8 + [-1.0] * 2
    assert [p.score for p in result[1]] == [0.0] * 4 + [-1.0] * 4 + [-2.0]
    for paths in result:
        assert len({tuple(p.tags) for p in paths}) == len(paths)
        for p in paths:
            assert p.score == -float(sum(tag == 2 for tag in p.tags))


def test_marginals_sum_to_one_and_match_enumeration():
    crf = make_crf(masked=True)
    emissions, _, lengths = batch()
    marg = crf.marginals(emissions, lengths)  # (T, B, N)
    for b, n in enumerate(LENGTHS):
        table = enumerate_paths(crf, emissions[:n, b])
        log_z = log_sum_exp(list(table.values()))
        expected = torch.zeros(n, N, dtype=torch.float64)
        for path, score in table.items():
            for t, y in enumerate(path):
                expected[t, y] += math.exp(score - log_z)
        torch.testing.assert_close(marg[:n, b], expected, atol=1e-9, rtol=0)
        torch.testing.assert_close(marg[:n, b].sum(1), torch.ones(n, dtype=torch.float64))
        assert marg[n:, b].abs().sum() == 0


def test_padded_batch_equals_each_sequence_alone():
    crf = make_crf(masked=True)
    emissions, tags, lengths = batch()
    tags = gold_paths(crf, emissions)  # (T, B)
    nll = crf(emissions, tags, lengths)
    emissions[tags.new_tensor(LENGTHS)[None, :] <= torch.arange(T)[:, None]] = float("nan")
    torch.testing.assert_close(crf(emissions, tags, lengths), nll)  # NaN padding changes nothing
    assert crf.decode(emissions, lengths) == [tags[:n, b].tolist() for b, n in enumerate(LENGTHS)]
    for b, n in enumerate(LENGTHS):
        alone = crf(emissions[:n, b:b + 1], tags[:n, b:b + 1])
        torch.testing.assert_close(alone, nll[b:b + 1], atol=1e-12, rtol=0)
        assert alone.item() >= 0


@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_nll(masked):
    crf = make_crf(masked=masked)
    emissions, _, lengths = batch(pad=0.0)
    tags = gold_paths(crf, emissions)  # (T, B)
    emissions.requires_grad_(True)

    def nll(emis, trans, start, end):
        params = {"transitions": trans, "start": start, "end": end}
        return torch.func.functional_call(crf, params, (emis, tags, lengths))

    params = (crf.transitions, crf.start, crf.end)
    inputs = (emissions, *(p.detach().clone().requires_grad_(True) for p in params))
    assert torch.autograd.gradcheck(nll, inputs)
    nll(*inputs).sum().backward()
    assert all(torch.isfinite(x.grad).all() for x in inputs)
    if masked:  # forbidden entries are constants, not parameters
        assert (inputs[1].grad[~crf.allowed] == 0).all()


def test_float32_matches_float64():
    crf = make_crf(masked=True)
    emissions, tags, lengths = batch()
    crf32 = make_crf(masked=True).float()
    got = crf32.log_partition(emissions.float(), lengths)
    assert got.dtype == torch.float32
    want = crf.log_partition(emissions, lengths)
    torch.testing.assert_close(got.double(), want, atol=1e-4, rtol=1e-5)
    assert crf32.decode(emissions.float(), lengths) == crf.decode(emissions, lengths)
    torch.testing.assert_close(crf32.marginals(emissions.float(), lengths).double(),
                               crf.marginals(emissions, lengths), atol=1e-5, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    crf = make_crf(masked=True)
    emissions, tags, lengths = batch()
    tags = gold_paths(crf, emissions)  # (T, B)
    gpu = make_crf(masked=True).cuda()
    want = crf(emissions, tags, lengths)
    torch.testing.assert_close(gpu(emissions.cuda(), tags, lengths).cpu(), want)
    assert gpu.decode(emissions.cuda(), lengths) == crf.decode(emissions, lengths)
    for got, want in zip(gpu.nbest(emissions.cuda(), lengths, 4), crf.nbest(emissions, lengths, 4)):
        assert [p.tags for p in got] == [p.tags for p in want]
        assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-9)
    want = crf.marginals(emissions, lengths)
    torch.testing.assert_close(gpu.marginals(emissions.cuda(), lengths).cpu(), want)


def test_forbidden_gold_path_is_refused():
    allowed = torch.ones(3, 3, dtype=torch.bool)
    allowed[0, 2] = False
    crf = CRF(3, allowed=allowed)
    emissions = torch.zeros(3, 2, 3)
    tags = torch.tensor([[1, 1], [1, 0], [2, 2]])
    with pytest.raises(UserError, match="gold sequence 1 has tag 0 -> tag 2 at step 2"):
        crf(emissions, tags)
    assert crf(emissions, tags, [3, 2]).shape == (2,)  # the forbidden step is in the padding
    end = torch.tensor([True, True, False])
    with pytest.raises(UserError, match="gold sequence 0 ends with tag 2"):
        CRF(3, allowed_end=end)(emissions, tags, [3, 2])


def test_boundary_errors_say_expected_and_got():
    crf = CRF(3)
    emissions = torch.zeros(4, 2, 3)
    with pytest.raises(UserError, match=r"shape \(T, B, 3\), got \(4, 2, 5\)"):
        crf.decode(torch.zeros(4, 2, 5))
    with pytest.raises(UserError, match=r"expected lengths in \[1, 4\], got values in \[0, 4\]"):
        crf.log_partition(emissions, [4, 0])
    with pytest.raises(UserError, match=r"shape \(2,\)"):
        crf.log_partition(emissions, [4, 3, 2])
    with pytest.raises(UserError, match=r"expected tags in \[0, 3\), got values in \[3, 3\]"):
        crf(emissions, torch.full((4, 2), 3))
    with pytest.raises(UserError, match="bool tensor of shape"):
        CRF(3, allowed=torch.ones(3, 2, dtype=torch.bool))
    with pytest.raises(UserError, match="k >= 1"):
        crf.nbest(emissions, k=0)
    no_way = torch.zeros(3, 3, dtype=torch.bool)
    with pytest.raises(UserError, match="no tag path allowed"):
        CRF(3, allowed=no_way).decode(emissions)
    assert CRF(3, allowed=no_way).nbest(emissions[:1], k=2)[0] != []  # one token needs no step


def test_training_step_lowers_the_nll():
    torch.manual_seed(0)
    crf = CRF(4)
    emissions = torch.randn(6, 3, 4, requires_grad=True)
    tags = torch.randint(4, (6, 3))
    opt = torch.optim.SGD(list(crf.parameters()) + [emissions], lr=0.1)
    first = crf(emissions, tags, [6, 2, 4]).sum()
    for _ in range(20):
        opt.zero_grad()
        crf(emissions, tags, [6, 2, 4]).sum().backward()
        opt.step()
    assert crf(emissions, tags, [6, 2, 4]).sum() < first
