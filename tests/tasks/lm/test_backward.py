"""Backward language models read the text from its end: in training, in evaluation (the same
predictions, reversed), in generation (what comes before a prompt) and for the n-gram baseline."""

import math

import numpy as np
import pytest
import torch

from recurrente import LanguageModel
from recurrente.cli.main import main
from recurrente.tasks.lm.options import LMOptions
from recurrente.tasks.lm.task import prepare
from recurrente.tasks.lm.inference import evaluate_stream
from recurrente.tasks.lm.ngram import KneserNey
from recurrente.train.run import load_run
from tests.lm_fixtures import word_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("backward") / "words.txt"
    path.write_text(word_corpus(3000))
    return path


@pytest.fixture(scope="module")
def run(corpus):
    out = corpus.parent / "run"
    assert main(["train", str(corpus), "--out", str(out), "--direction", "backward",
                 "--preset", "tiny", "--max-steps", "30", "--lr", "0.01", "--quiet"]) == 0
    return out


def test_training_reads_the_text_reversed(corpus):
    opts = LMOptions(corpus=str(corpus), direction="backward", hidden=8, layers=1, seq_len=8,
                     batch_size=2)
    prepared = prepare(opts)
    train = prepared.extra["data"].splits["train"]
    assert np.array_equal(prepared.batches.ids, train[::-1])
    with pytest.raises(Exception, match="--direction forward or backward"):
        prepare(LMOptions(corpus=str(corpus), direction="sideways"))


def test_evaluation_is_the_forward_evaluation_of_the_reversed_text():
    torch.manual_seed(0)
    backward = LanguageModel(11, hidden_size=8, num_layers=2, direction="backward").eval()
    forward = LanguageModel(11, hidden_size=8, num_layers=2).eval()
    forward.load_state_dict(backward.state_dict())
    ids = np.random.default_rng(0).integers(0, 11, 300)
    got = evaluate_stream(backward, ids, chunk=64)
    want = evaluate_stream(forward, ids[::-1].copy(), chunk=64)
    assert got["tokens"] == 299 and math.isclose(got["loss"], want["loss"], rel_tol=1e-6)
    assert math.isclose(backward.perplexity(torch.as_tensor(ids))["loss"], got["loss"],
                        rel_tol=1e-6)


def test_generation_writes_what_comes_before_the_prompt(run, capsys):
    model = LanguageModel.load(run)
    assert model.direction == "backward"
    ids = model.generate([3, 4, 5], 10, seed=1)
    assert len(ids) == 13 and ids[-3:] == [3, 4, 5]
    capsys.readouterr()
    assert main(["sample", str(run), "--prime", " gato", "-n", "25", "--seed", "2"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.endswith(" gato") and len(text) == 25 + len(" gato")
    assert main(["sample", str(run), "--prime", "luna", "-n", "5", "--num-samples", "2",
                 "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("--- sample") == 2 and out.count("luna\n") == 2


def test_eval_and_its_baseline_read_backwards_too(run, capsys):
    from recurrente.tasks.lm.cli import ngram_baseline
    from recurrente.tasks.lm.texts import split_ids
    loaded = load_run(run)
    test = split_ids(loaded, "test")
    capsys.readouterr()
    assert main(["eval", str(run), "--baseline", "ngram:3"]) == 0
    assert "3-gram Kneser-Ney" in capsys.readouterr().out
    baseline = ngram_baseline(loaded, test, 3)
    reversed_lm = KneserNey.fit(split_ids(loaded, "train")[::-1], 3, loaded.model.vocab_size)
    assert math.isclose(baseline["loss"], reversed_lm.evaluate(test[::-1])["loss"])
