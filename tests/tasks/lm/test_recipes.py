"""The defaults: the tokenizer picks the recipe, the time budget picks the size, a given option
always wins, and the log says what was chosen and why."""

import json

import pytest

from recurrente.cli.main import main
from recurrente.errors import UserError
from recurrente.tasks.lm.options import LMOptions
from recurrente.tasks.lm.recipes import RECIPES, choose_size, resolve, tokens_per_s
from recurrente.train.config import TrainConfig
from tests.lm_fixtures import word_corpus


def _resolved(budget=180.0, **values):
    """Options as the CLI makes them (a time budget), resolved for a vocabulary of 80."""
    opts = LMOptions(**values, train=TrainConfig(time_budget=budget))
    return opts, resolve(opts, 80)


@pytest.mark.parametrize("tokenizer", ["char", "word"])
def test_the_tokenizer_picks_its_recipe(tokenizer):
    opts, notes = _resolved(tokenizer=tokenizer)
    recipe = RECIPES[tokenizer]
    for name, value in recipe.values.items():
        assert getattr(opts, name) == value
    assert notes[0].startswith(f"{tokenizer} recipe: ")
    assert any(n.startswith("model size ") for n in notes)
    assert RECIPES["word"].values != RECIPES["char"].values


def test_given_options_win_over_the_recipe():
    opts, notes = _resolved(tokenizer="word", dropout=0.05, weight_dropout=0.0, tie_weights=False)
    assert (opts.dropout, opts.weight_dropout, opts.tie_weights) == (0.05, 0.0, False)
    # a given --dropout stands for the input and between-layer rates too
    assert opts.dropout_input is None and opts.dropout_hidden is None
    assert opts.dropout_embedding == RECIPES["word"].values["dropout_embedding"]
    assert "weight-dropout" not in notes[0] and "dropout-embedding" in notes[0]


def test_a_given_size_is_kept_and_the_rest_comes_from_the_base_size():
    opts, notes = _resolved(tokenizer="char", hidden=48, budget=36000.0)
    base = RECIPES["char"].sizes[RECIPES["char"].base]
    assert (opts.hidden, opts.layers, opts.seq_len) == (48, base.layers, base.seq_len)
    assert not any(n.startswith("model size") for n in notes)


@pytest.mark.parametrize("tokenizer,vocab", [("char", 90), ("word", 30000)])
def test_a_longer_budget_never_gets_a_smaller_model(tokenizer, vocab):
    recipe, rate = RECIPES[tokenizer], 100e9  # about what two idle cores measure
    chosen = [choose_size(recipe, vocab, budget, rate)[0] for budget in
              (30, 120, 600, 3600, 36000)]
    order = [recipe.sizes.index(s) for s in chosen]
    assert order == sorted(order) and order[0] < order[-1], chosen
    slower = choose_size(recipe, vocab, 600, rate / 10)[0]
    assert recipe.sizes.index(slower) <= order[2]  # a busy machine: no bigger a model
    for size in recipe.sizes:  # a bigger model is slower; a bigger vocabulary too
        assert tokens_per_s(size, vocab, rate) > tokens_per_s(size, vocab * 10, rate)
    speeds = [tokens_per_s(s, vocab, rate) for s in recipe.sizes]
    assert speeds == sorted(speeds, reverse=True)


def test_the_probe_measures_a_positive_rate_and_leaves_the_random_stream_alone():
    import torch
    from recurrente.tasks.lm.recipes import measure_rate
    opts, _ = _resolved(tokenizer="char", hidden=16)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    assert measure_rate(opts, RECIPES["char"].sizes[0], 80) > 1e6
    assert torch.equal(torch.rand(3), expected)


def test_without_a_budget_the_base_size():
    opts = LMOptions(train=TrainConfig(max_steps=10, time_budget=None))
    notes = resolve(opts, 90)
    base = RECIPES["char"].sizes[RECIPES["char"].base]
    assert (opts.layers, opts.hidden, opts.seq_len) == (base.layers, base.hidden, base.seq_len)
    assert "no time budget" in notes[-1]


@pytest.mark.parametrize("bad,message", [(dict(dropout_mask="always"), "--dropout-mask"),
                                         (dict(softmax="sampled"), "--softmax"),
                                         (dict(tokenizer="word", tie_weights=True), "--softmax full"),
                                         (dict(weight_dropout=1.0), "--weight-dropout"),
                                         (dict(ar=-1.0), "--ar"),
                                         (dict(tokenizer="bpe"), "--tokenizer")])
def test_bad_values_get_one_sentence(bad, message):
    with pytest.raises(UserError, match=message):
        _resolved(**bad)


def test_the_log_says_which_recipe_and_size_and_why(tmp_path, capsys):
    corpus = tmp_path / "words.txt"
    corpus.write_text(word_corpus(2000))
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", str(corpus), "--out", str(out), "--tokenizer", "word",
                 "--time-budget", "1", "--batch-size", "4", "--quiet"]) == 0
    log = capsys.readouterr().out
    assert "word recipe: " in log and "softmax adaptive" in log
    assert "model size " in log and "measured here: " in log and " in 1 s" in log
    options = json.loads((out / "config.json").read_text())["options"]
    assert options["softmax"] == "adaptive" and options["batch_size"] == 4
    assert options["hidden"] == RECIPES["word"].sizes[0].hidden  # one second: the smallest
    # the language model's own training defaults reach the CLI (not the trainer's generic ones)
    assert (options["train"]["schedule"], options["train"]["lr"], options["train"]["clip"]) == \
        ("wsd", 2e-3, 5.0)
