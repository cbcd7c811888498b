"""The n-gram baseline: interpolated Kneser-Ney distributions sum to 1 over the vocabulary for any
context, match a hand computation, and ``recurrente eval --baseline ngram:N`` reports them."""

import json
import math

import numpy as np
import pytest

from recurrente.cli.main import main
from recurrente.errors import UserError
from recurrente.tasks.lm.ngram import KneserNey, parse_baseline
from tests.lm_fixtures import word_corpus


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("vocab", [12, 300])
def test_distributions_sum_to_one_for_random_contexts(order, vocab):
    rng = np.random.default_rng(order * vocab)
    zipf = np.minimum(rng.zipf(1.3, size=4000), vocab - 1)  # ids above the seen ones: unseen
    lm = KneserNey.fit(zipf, order, vocab)
    seen = [zipf[i:i + order - 1] for i in rng.integers(0, 3000, 20)]  # histories in the text
    unseen = [rng.integers(0, vocab, size=rng.integers(0, order + 2)) for _ in range(20)]
    for history in seen + unseen:
        p = lm.distribution(history)
        assert p.shape == (vocab,) and (p > 0).all()
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-12)
        for word in rng.integers(0, vocab, 5):
            assert math.isclose(lm.probability(history, word), p[word], rel_tol=1e-12)


def test_a_bigram_model_by_hand():
    """Counts of 0 1 0 2 0 1: bigrams 01 (2), 10, 02, 20; continuation counts 0: 2, 1: 1, 2: 1.
    D1 = 2 / (2 + 2·1) = 0.5, D2 = 3 / (3 + 2·1) = 0.6;
    P1(1) = (1 - 0.5) / 4 + 0.5 · 3/4 · 1/3 = 0.25;
    P2(1 | 0) = (2 - 0.6) / 3 + 0.6 · 2/3 · P1(1) = 0.5667."""
    lm = KneserNey.fit([0, 1, 0, 2, 0, 1], order=2, vocab_size=3)
    assert lm.discount == {1: 0.5, 2: 0.6}
    assert math.isclose(lm.probability([], 1), 0.25)
    assert math.isclose(lm.probability([], 0), 0.5)
    assert math.isclose(lm.probability([0], 1), 1.4 / 3 + 0.1)
    result = lm.evaluate([0, 1, 0])
    want = -(math.log(lm.probability([0], 1)) + math.log(lm.probability([1], 0))) / 2
    assert result["tokens"] == 2 and math.isclose(result["loss"], want)


def test_higher_orders_fit_a_markov_text_better():
    text = [int(c) for c in "0123" * 500]  # deterministic after one token
    uni, bi = (KneserNey.fit(text, n, 4).evaluate(text[:200]) for n in (1, 2))
    assert uni["perplexity"] > 3.5 and bi["perplexity"] < 1.2


@pytest.mark.parametrize("spec", ["ngram", "ngram:0", "ngram:x", "kn:3", "ngram:11"])
def test_bad_baseline_specs(spec):
    with pytest.raises(UserError, match="ngram:N"):
        parse_baseline(spec)


def test_eval_reports_the_baseline_beside_the_network(tmp_path, capsys):
    corpus = tmp_path / "words.txt"
    corpus.write_text(word_corpus(3000))
    out = tmp_path / "run"
    assert main(["train", str(corpus), "--out", str(out), "--preset", "tiny", "--max-steps", "3",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--baseline", "ngram:6"]) == 0
    assert "\r" not in capsys.readouterr().err  # no progress bar redrawn into a log
    assert main(["eval", str(out), "--baseline", "ngram:6", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "6-gram Kneser-Ney baseline" in lines[-2] and "perplexity" in lines[-2]
    result = json.loads(lines[-1])
    baseline = result["baseline"]
    assert baseline["name"] == "ngram:6" and baseline["tokens"] == result["tokens"]
    # 4 equally likely words: a 6-gram of letters knows each word from its first letter on
    assert baseline["perplexity"] < 1.5 < result["perplexity"]
    capsys.readouterr()
    assert main(["eval", str(out), "--baseline", "ngram:zero"]) == 2
    assert "ngram:N" in capsys.readouterr().err
