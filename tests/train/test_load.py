"""Self-contained models: ``recurrente.load(RUN)`` gives any task's model with its vocabularies
and limits, ``Task.save`` round-trips them, a task's class refuses another task's run, and the
language model reads and writes text."""

import pytest
import torch

import recurrente
from recurrente.cli.main import main
from recurrente.errors import UserError
from recurrente.train.run import load_run
from tests.lm_fixtures import word_corpus
from tests.tag_fixtures import entity_sentences, write_conll
from tests.classify_fixtures import order_examples, write_csv
from tests.translate_fixtures import reverse_pairs, write_tsv

CLASSES = {"lm": "LanguageModel", "classify": "SequenceClassifier", "tag": "SequenceTagger",
           "translate": "Seq2Seq"}
ROLES = {"lm": {"source"}, "classify": {"source", "labels"},
         "tag": {"source", "chars", "tags"}, "translate": {"source", "target"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    (root / "corpus.txt").write_text(word_corpus(1500))
    write_csv(root / "order.csv", order_examples(120, seed=1))
    write_conll(root / "ner.txt", entity_sentences(60, seed=2))
    write_tsv(root / "pairs.tsv", reverse_pairs(120, seed=3))
    argv = {"lm": ["train", str(root / "corpus.txt"), "--preset", "tiny", "--hidden", "16"],
            "classify": ["classify", "train", str(root / "order.csv"), "--hidden", "8",
                         "--max-len", "7"],
            "tag": ["tag", "train", str(root / "ner.txt"), "--hidden", "8"],
            "translate": ["translate", "train", str(root / "pairs.tsv"), "--hidden", "16"]}
    made = {}
    for task, command in argv.items():
        made[task] = root / task
        assert main([*command, "--out", str(made[task]), "--max-steps", "2", "--quiet"]) == 0
    return made


@pytest.mark.parametrize("task", list(CLASSES))
def test_load_gives_each_tasks_model_with_vocabularies_and_limits(runs, task):
    model = recurrente.load(runs[task])
    assert type(model).__name__ == CLASSES[task] and not model.training
    assert set(model.vocabs) == ROLES[task]
    run = load_run(runs[task])
    assert {k: v.itos if hasattr(v, "itos") else v.vocab_size for k, v in model.vocabs.items()} \
        == {k: v.itos if hasattr(v, "itos") else v.vocab_size for k, v in run.vocabs.items()}
    expected = {"max_len": run.options.max_len} if task in ("classify", "translate") else {}
    assert model.limits == expected
    if expected:
        assert model.max_len == expected["max_len"]
    assert getattr(recurrente, CLASSES[task]).load(runs[task]).config() == model.config()


def test_a_tasks_class_refuses_another_tasks_run_in_one_sentence(runs):
    with pytest.raises(UserError) as e:
        recurrente.SequenceTagger.load(runs["classify"])
    assert str(e.value) == (f"{runs['classify']} holds a SequenceClassifier, not a "
                            f"SequenceTagger; recurrente.load(DIR) loads a run of any task")


def test_save_and_load_round_trip_the_vocabularies_and_limits(runs, tmp_path):
    model = recurrente.load(runs["classify"])
    texts = ["a b c d e f g h i j k", "x"]
    model.save(tmp_path / "copy")
    again = recurrente.load(tmp_path / "copy")
    assert again.max_len == model.max_len == 7
    assert again.vocabs["labels"].itos == model.vocabs["labels"].itos
    assert again.predict(texts, top_k=2) == model.predict(texts, top_k=2)


def test_the_language_model_takes_and_gives_text(runs):
    model = recurrente.LanguageModel.load(runs["lm"])
    text = model.generate("el gato", 12, seed=1)
    assert isinstance(text, str) and text.startswith("el gato") and len(text) > len("el gato")
    assert text == model.generate("el gato", 12, seed=1)  # seeded
    ids = model.generate([3, 4], 5, seed=1)
    assert len(ids) == 7 and ids[:2] == [3, 4] and all(isinstance(i, int) for i in ids)


def test_a_model_saved_without_a_tokenizer_says_so_for_text(tmp_path):
    bare = recurrente.LanguageModel(12, hidden_size=8)
    bare.save(tmp_path)
    again = recurrente.load(tmp_path)
    torch.testing.assert_close(again.embedding.weight, bare.embedding.weight)
    assert len(again.generate([1], 3, seed=0)) == 4
    with pytest.raises(UserError, match="no tokenizer"):
        again.generate("hola", 3)
