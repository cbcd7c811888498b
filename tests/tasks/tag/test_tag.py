"""The sequence tagger end to end: a BiLSTM-CRF learns entity types that only a word after the
entity decides (a left-to-right softmax tagger cannot), its runs load and predict identically from
Python and the command line, a CRF never breaks the tag scheme, raw text keeps its character
offsets, every data option, every bad input's one-sentence error, and padding changes nothing."""

import io
import json
import random
import re
import sys

import numpy as np
import pytest
import torch

from recurrente.cli.main import main
from recurrente.data import conll, schemes
from recurrente.data.sentences import tokenize
from recurrente.tasks.tag.data import MAX_WORD_CHARS, Encoded, collate
from recurrente.tasks.tag.inference import inline
from recurrente.tasks.tag.metrics import evaluate_tags
from recurrente.tasks.tag.model import SequenceTagger
from recurrente.tasks.tag.options import TaggerOptions
from recurrente.tasks.tag.task import build, prepare
from recurrente.train.config import TrainConfig
from tests.lm_fixtures import word_corpus
from tests.tag_fixtures import (CUES, FILLER, NAMES, conll_text, entity_sentences, to_iob1,
                                write_conll)
from tests.classify_fixtures import order_examples, write_csv
from tests.results import as_dicts

SMALL = ["--hidden", "8", "--max-steps", "2", "--quiet"]  # format and error tests: a second
LEARN = ["--hidden", "32", "--max-steps", "200", "--eval-every", "100", "--lr", "0.01", "--quiet"]
A, B, C = NAMES[:3]  # made-up names the generated training data holds


def _error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, (code, captured.out, err)
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _json_out(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _json_lines(capsys, argv) -> list:
    capsys.readouterr()
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _config(run) -> dict:
    return json.loads((run / "config.json").read_text())


def _entities(sentences, scheme="BIO") -> int:
    return sum(len(schemes.spans(tags, scheme)) for _, tags in sentences)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tagdata")
    return {"train": write_conll(folder / "train.txt", entity_sentences(1000, seed=0)),
            "held": write_conll(folder / "held.txt", entity_sentences(300, seed=1)),
            "small": write_conll(folder / "small.txt", entity_sentences(60, seed=2)),
            "folder": folder}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("tagruns")


@pytest.fixture(scope="module")
def bi_run(runs, files):
    """The BiLSTM-CRF (characters through an LSTM, the default)."""
    out = runs / "bi"
    assert main(["tag", "train", str(files["train"]), "--out", str(out), *LEARN]) == 0
    return out


@pytest.fixture(scope="module")
def uni_run(runs, files):
    """Left to right, a softmax per word, trained the same way."""
    out = runs / "uni"
    assert main(["tag", "train", str(files["train"]), "--out", str(out), *LEARN,
                 "--unidirectional", "--head", "softmax"]) == 0
    return out


@pytest.fixture(scope="module")
def bioes_run(runs, files):
    """Predicts BIOES, barely trained: its emissions alone would often break the scheme."""
    out = runs / "bioes"
    assert main(["tag", "train", str(files["small"]), "--out", str(out), "--tag-scheme", "BIOES",
                 "--hidden", "8", "--max-steps", "5", "--chars", "none", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def lm_run(runs):
    (runs / "words.txt").write_text(word_corpus(2000))
    out = runs / "lm"
    assert main(["train", str(runs / "words.txt"), "--out", str(out), "--preset", "tiny",
                 "--seq-len", "16", "--batch-size", "8", "--max-steps", "2", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def cls_run(runs):
    table = write_csv(runs / "order.csv", order_examples(60, seed=2))
    out = runs / "cls"
    assert main(["classify", "train", str(table), "--out", str(out), "--hidden", "8",
                 "--max-steps", "2", "--quiet"]) == 0
    return out


def random_token_lists(n: int, seed: int):
    """Anything: known names, fillers and cues, unseen capitalised words, punctuation."""
    rng = random.Random(seed)
    pool = NAMES[:40] + FILLER + list(CUES) + ["Xylo", "Qwerty", "ÑANDÚ", ",", ".", "¿", "?",
                                                "3,5"]
    return [[rng.choice(pool) for _ in range(rng.randint(1, 14))] for _ in range(n)]


def encoded(model, token_lists) -> Encoded:
    """Token lists as the model's ids (as ``predict`` encodes them)."""
    words, chars = model.vocabs["source"], model.vocabs["chars"]
    data = Encoded([], [], [], [])
    for tokens in token_lists:
        data.words.append(words.encode(tokens))
        data.chars.append([chars.encode(list(w[:MAX_WORD_CHARS])) for w in tokens])
        data.tags.append(np.zeros(len(tokens), dtype=np.int64))
        data.tokens.append(tokens)
    return data


# ----------------------------------------------------------------------------- learning


@pytest.mark.slow
def test_both_directions_and_a_crf_learn_types_decided_by_the_next_word(bi_run, uni_run, files,
                                                                        tmp_path, capsys):
    held = entity_sentences(300, seed=1)
    bi = _json_out(capsys, ["tag", "eval", str(bi_run), "--data", str(files["held"]), "--json"])
    uni = _json_out(capsys, ["tag", "eval", str(uni_run), "--data", str(files["held"]), "--json",
                             "--output", str(tmp_path / "uni.txt")])
    assert bi["sentences"] == uni["sentences"] == 300
    assert bi["gold_entities"] == uni["gold_entities"] == _entities(held)
    assert bi["f1"] >= 0.98, (f"BiLSTM-CRF: held-out entity F1 {bi['f1']:.3f} (left-to-right "
                              f"softmax {uni['f1']:.3f}); per type {bi['per_type']}")
    assert uni["f1"] <= 0.8, (f"left-to-right softmax: held-out entity F1 {uni['f1']:.3f} "
                              f"(BiLSTM-CRF {bi['f1']:.3f}): it cannot have read the cue")
    assert bi["f1"] - uni["f1"] >= 0.15, (bi["f1"], uni["f1"])
    assert set(bi["per_type"]) == {"LOC", "PER"}
    assert all(s["f1"] >= 0.95 for s in bi["per_type"].values()), bi["per_type"]
    # the left-to-right tagger does find where the names are (capitals): what it lacks is the type
    back = conll.read_conll(tmp_path / "uni.txt", tag_column=1)
    predicted = conll.read_conll(tmp_path / "uni.txt", tag_column=2)
    untyped = lambda tags: [t[:2] + "X" if t != "O" else t for t in tags]  # noqa: E731
    spans = evaluate_tags([untyped(s.tags) for s in back.sentences],
                          [untyped(s.tags) for s in predicted.sentences])
    assert spans["f1"] >= 0.9, (f"left-to-right softmax: entity F1 ignoring the type "
                                f"{spans['f1']:.3f}, with it {uni['f1']:.3f}")


def test_run_directory(bi_run):
    names = {p.name for p in bi_run.iterdir()}
    assert {"config.json", "model.safetensors", "last", "metrics.jsonl", "vocabs"} <= names
    assert {p.name for p in (bi_run / "vocabs").iterdir()} == \
        {"source.json", "chars.json", "tags.json"}
    config = _config(bi_run)
    assert config["task"] == "tag" and config["model"]["class"] == "SequenceTagger"
    assert config["model"]["head"] == "crf" and config["model"]["bidirectional"] is True
    assert config["data"]["tags"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert config["data"]["scheme"] == "BIO"
    assert sum(config["data"]["sentences"].values()) == 1000
    evals = [json.loads(l) for l in (bi_run / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in l]
    assert [e["step"] for e in evals] == [100, 200]
    assert all("valid_f1" in e and "valid_token_accuracy" in e for e in evals)


def test_eval_of_the_runs_own_splits(bi_run, capsys):
    counts = _config(bi_run)["data"]["sentences"]
    test = _json_out(capsys, ["tag", "eval", str(bi_run), "--json"])
    assert test["sentences"] == counts["test"] and test["f1"] >= 0.95
    valid = _json_out(capsys, ["tag", "eval", str(bi_run), "--split", "valid", "--json"])
    assert valid["sentences"] == counts["valid"]
    capsys.readouterr()
    assert main(["tag", "eval", str(bi_run), "--split", "valid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"valid split: {counts['valid']} sentences, entity F1 ")
    assert "micro" in out and "token accuracy" in out


# ----------------------------------------------------------------------------- round trip


def test_load_predicts_the_same_twice_and_as_the_command_line(bi_run, tmp_path, capsys):
    texts = [" ".join(tokens) for tokens, _ in entity_sentences(40, seed=5)]
    texts += [" ".join(t) for t in random_token_lists(20, seed=6)] + ["", "¿Qué?"]
    first = as_dicts(SequenceTagger.load(bi_run).predict(texts))
    second = as_dicts(SequenceTagger.load(bi_run).predict(texts))
    assert first == second  # tags, entities, scores: bit for bit
    right = sum(r["tags"] == tags for r, (_, tags) in zip(first, entity_sentences(40, seed=5)))
    assert right >= 38, f"{right} of 40 generated sentences tagged exactly"

    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    lines = _json_lines(capsys, ["tag", "predict", str(bi_run), str(tmp_path / "texts.txt"),
                                 "--json"])
    assert [line.pop("text") for line in lines] == texts
    assert lines == first


@pytest.mark.parametrize("run,scheme", [("bi_run", "BIO"), ("bioes_run", "BIOES")])
def test_a_crf_never_breaks_the_scheme(run, scheme, request):
    model = SequenceTagger.load(request.getfixturevalue(run))
    assert model._config["scheme"] == scheme
    inputs = random_token_lists(300, seed=7)
    for result in as_dicts(model.predict(inputs)) + as_dicts(model.predict(inputs, nbest=3)):
        schemes.check(result["tags"], scheme)
        for path in result.get("nbest", []):
            schemes.check(path["tags"], scheme)
    # not vacuous: the barely trained model's best tag per word, without the CRF, breaks it
    if scheme == "BIOES":
        batch = collate(encoded(model, inputs))(list(range(len(inputs))))
        with torch.no_grad():
            best = model.emissions(batch).argmax(-1).T.tolist()
        broken = 0
        for row, tokens in zip(best, inputs):
            try:
                schemes.check([model.tags[t] for t in row[:len(tokens)]], scheme)
            except Exception:
                broken += 1
        assert broken >= 1, f"none of 300 argmax sequences breaks {scheme}: a vacuous check"


def test_nbest_is_sorted_starts_with_viterbi_and_has_probabilities(bi_run, bioes_run, tmp_path,
                                                                  capsys):
    inputs = random_token_lists(60, seed=8) + [t for t, _ in entity_sentences(20, seed=9)]
    for run in (bi_run, bioes_run):
        model = SequenceTagger.load(run)
        viterbi = as_dicts(model.predict(inputs))
        for best, result in zip(viterbi, as_dicts(model.predict(inputs, nbest=3))):
            paths = result["nbest"]
            assert len(paths) == 3  # a sentence of one word has 3 valid paths already
            assert result["tags"] == paths[0]["tags"] == best["tags"]
            scores = [p["score"] for p in paths]
            assert scores == sorted(scores, reverse=True), scores
            probs = [p["probability"] for p in paths]
            assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6, probs
            assert len({tuple(p["tags"]) for p in paths}) == 3
            # p(y | x) = exp(score - log Z): the ratios are those of exp(score)
            assert np.allclose(np.array(probs) / probs[0], np.exp(np.array(scores) - scores[0]),
                               rtol=1e-4, atol=1e-7)
            assert all(0 < e["score"] <= 1 for e in result["entities"])
    (tmp_path / "in.txt").write_text("\n".join(" ".join(t) for t in inputs[:10]) + "\n")
    lines = _json_lines(capsys, ["tag", "predict", str(bi_run), str(tmp_path / "in.txt"),
                                 "--tokenized", "--nbest", "3", "--json"])
    api = as_dicts(SequenceTagger.load(bi_run).predict(inputs[:10], nbest=3))
    assert [line["nbest"] for line in lines] == [r["nbest"] for r in api]


# ----------------------------------------------------------------------------- raw text


def test_raw_text_entities_carry_character_offsets(bi_run):
    model = SequenceTagger.load(bi_run)
    clean = f"ayer {A} {B} dijo que {C} está lejos"
    result = as_dicts(model.predict([clean]))[0]
    assert [(e["type"], e["text"]) for e in result["entities"]] == \
        [("PER", f"{A} {B}"), ("LOC", C)], result
    per, loc = result["entities"]
    assert (per["char_start"], per["char_end"]) == (5, 5 + len(A) + 1 + len(B))
    assert clean[loc["char_start"]:loc["char_end"]] == C
    texts = [clean, f"  ayer   {A}\t {B}  dijo:  «la {C} está»,  ¿vale?  ",
             f"{A}, {B} y {C} dijo.", *(" ".join(t) for t in random_token_lists(40, seed=10))]
    found = 0
    for text, r in zip(texts, as_dicts(model.predict(texts))):
        tokens = tokenize(text)
        assert r["tokens"] == [t.text for t in tokens]
        for e in r["entities"]:
            found += 1
            span = text[e["char_start"]:e["char_end"]]
            assert span.startswith(r["tokens"][e["start"]]), (text, e)
            assert span.endswith(r["tokens"][e["end"] - 1]), (text, e)
            assert re.sub(r"\s+", "", span) == "".join(r["tokens"][e["start"]:e["end"]])
            assert e["text"] == " ".join(r["tokens"][e["start"]:e["end"]])
    assert found >= 10


def test_inline_output_tokenized_input_and_empty_lines(bi_run, tmp_path, capsys):
    lines = [f"ayer {A} {B} dijo que {C} está lejos", "", "   ", f"{A} dijo.", "el pan"]
    (tmp_path / "raw.txt").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["tag", "predict", str(bi_run), str(tmp_path / "raw.txt")]) == 0
    out = capsys.readouterr().out.split("\n")
    results = SequenceTagger.load(bi_run).predict(lines)
    api = as_dicts(results)
    assert out == [inline(r.tokens, r.entities) for r in results] + [""]
    assert [out[k] for k in (0, 1, 2, 4)] == \
        [f"ayer [PER {A} {B}] dijo que [LOC {C}] está lejos", "", "", "el pan"], out
    assert out[3].startswith(f"[PER {A}] dijo "), out
    assert api[1] == api[2] == {"tokens": [], "tags": [], "entities": []}
    # --tokenized: the words as the spaces give them ("dijo." stays one word)
    records = _json_lines(capsys, ["tag", "predict", str(bi_run), str(tmp_path / "raw.txt"),
                                   "--tokenized", "--json"])
    assert [r["tokens"] for r in records] == [line.split() for line in lines]
    assert records[1]["entities"] == [] and records[1]["text"] == ""
    assert [r["tokens"] for r in _json_lines(capsys, ["tag", "predict", str(bi_run),
                                                       str(tmp_path / "raw.txt"), "--json"])] == \
        [[t.text for t in tokenize(line)] for line in lines]


def test_tokenized_json_keeps_character_offsets(bi_run, tmp_path, capsys):
    (tmp_path / "tok.txt").write_text(f"ayer  {A} dijo\n")
    record = _json_lines(capsys, ["tag", "predict", str(bi_run), str(tmp_path / "tok.txt"),
                                  "--tokenized", "--json"])[0]
    assert record["entities"][0]["char_start"] == 6


def test_decomposed_accents_are_the_same_words(bi_run):
    import unicodedata
    text = f"ayer {A} contó que {B} está lejos"
    model = SequenceTagger.load(bi_run)
    composed, decomposed = as_dicts(model.predict([text, unicodedata.normalize("NFD", text)]))
    assert decomposed["tags"] == composed["tags"]
    assert [e["score"] for e in decomposed["entities"]] == \
        [e["score"] for e in composed["entities"]]


def test_predict_refuses_a_batch_size_of_zero(bi_run, tmp_path, capsys):
    (tmp_path / "t.txt").write_text(f"{A} dijo\n")
    assert "--batch-size" in _error(capsys, ["tag", "predict", str(bi_run),
                                             str(tmp_path / "t.txt"), "--batch-size", "0"])


class Typing:
    """stdin of a terminal: a line at a time; records what was answered before each next line."""

    def __init__(self, lines, capsys):
        self.lines, self.capsys, self.answered = lines, capsys, []

    def isatty(self):
        return True

    def __iter__(self):
        for k, line in enumerate(self.lines):
            if k:
                self.answered.append(self.capsys.readouterr().out)
            yield line + "\n"


def test_stdin_streams_one_answer_per_line(bi_run, monkeypatch, capsys):
    lines = [f"{A} dijo", f"{B} queda cerca", "", f"la {C} está"]
    typing = Typing(lines, capsys)
    monkeypatch.setattr(sys, "stdin", typing)
    capsys.readouterr()
    assert main(["tag", "predict", str(bi_run)]) == 0
    typing.answered.append(capsys.readouterr().out)
    assert typing.answered == [f"[PER {A}] dijo\n", f"[LOC {B}] queda cerca\n", "\n",
                               f"la [LOC {C}] está\n"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))  # a pipe
    records = _json_lines(capsys, ["tag", "predict", str(bi_run), "-", "--json"])
    assert [r["text"] for r in records] == lines


# ----------------------------------------------------------------------------- data handling


def test_docstart_lines_are_not_sentences(tmp_path):
    text = conll_text(entity_sentences(30, seed=11), docstart=True) + \
        "-DOCSTART- O\n\n" + conll_text(entity_sentences(30, seed=12))
    (tmp_path / "doc.txt").write_text(text)
    out = tmp_path / "doc"
    assert main(["tag", "train", str(tmp_path / "doc.txt"), "--out", str(out), *SMALL]) == 0
    assert sum(_config(out)["data"]["sentences"].values()) == 60
    source = json.loads((out / "vocabs" / "source.json").read_text())
    assert "-DOCSTART-" not in json.dumps(source)


@pytest.mark.slow
def test_iob1_files_score_the_same_whichever_scheme_the_model_uses(tmp_path, capsys):
    train = entity_sentences(600, seed=13)
    # two same-type names in a row: IOB1 marks the second with B-
    pairs = [([A, B, "dijo"], ["B-PER", "B-PER", "O"]), ([C, A, "queda"], ["B-LOC", "B-LOC", "O"])]
    held = entity_sentences(150, seed=14) + pairs
    for name, sentences in (("train", train + pairs * 5), ("held", held)):
        (tmp_path / f"{name}.txt").write_text(conll_text([(w, to_iob1(t)) for w, t in sentences]))
    assert "B-PER" in (tmp_path / "held.txt").read_text()
    f1 = {}
    for target in ("IOB1", "BIO", "BIOES"):
        out = tmp_path / target
        assert main(["tag", "train", str(tmp_path / "train.txt"), "--out", str(out), "--scheme",
                     "IOB1", "--tag-scheme", target, "--chars", "none", "--hidden", "16",
                     "--max-steps", "150", "--eval-every", "150", "--lr", "0.01", "--dropout",
                     "0", "--word-dropout", "0", "--quiet"]) == 0
        assert _config(out)["data"]["scheme"] == target
        result = _json_out(capsys, ["tag", "eval", str(out), "--data", str(tmp_path / "held.txt"),
                                    "--json", "--output", str(tmp_path / f"{target}.out")])
        assert result["scheme"] == target
        assert result["gold_entities"] == _entities(held), target  # the same spans, converted
        gold = conll.read_conll(tmp_path / f"{target}.out", tag_column=1, scheme=target)
        pred = conll.read_conll(tmp_path / f"{target}.out", tag_column=2, scheme=target)
        assert [schemes.convert(s.tags, target, "BIO") for s in gold.sentences] == \
            [tags for _, tags in held]
        for other in ("IOB1", "BIO", "BIOES"):  # the F1 of the same predictions, in any scheme
            again = evaluate_tags([schemes.convert(s.tags, target, other) for s in gold.sentences],
                                  [schemes.convert(s.tags, target, other) for s in pred.sentences],
                                  other)
            assert again["f1"] == result["f1"], (target, other, again["f1"], result["f1"])
        f1[target] = result["f1"]
    assert all(v >= 0.95 for v in f1.values()), f"held-out entity F1 by model scheme: {f1}"


def test_ill_formed_bio_is_repaired_and_said(files, tmp_path, capsys):
    train = entity_sentences(60, seed=15)
    train[7] = (["la", A, B, "dijo"], ["O", "I-PER", "I-PER", "O"])  # O I-PER: repaired to B-PER
    test = entity_sentences(10, seed=16)
    test[0] = ([C, "queda"], ["I-LOC", "O"])
    write_conll(tmp_path / "train.txt", train)
    write_conll(tmp_path / "valid.txt", entity_sentences(20, seed=17))
    write_conll(tmp_path / "test.txt", test)
    out = tmp_path / "repaired"
    capsys.readouterr()
    assert main(["tag", "train", str(tmp_path / "train.txt"), "--valid",
                 str(tmp_path / "valid.txt"), "--test", str(tmp_path / "test.txt"), "--out",
                 str(out), "--hidden", "8", "--max-steps", "2"]) == 0
    captured = capsys.readouterr()
    notes = [l for l in (captured.out + captured.err).splitlines() if "ill-formed" in l]
    assert len(notes) == 2 and all(n.startswith("1 sentences of ") for n in notes), notes
    assert "train.txt had ill-formed BIO tags" in notes[0] and "test.txt" in notes[1], notes
    assert _config(out)["data"]["tags"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    # eval reads a --data file the same way: repaired, scored as conlleval would
    result = _json_out(capsys, ["tag", "eval", str(out), "--data", str(tmp_path / "test.txt"),
                                "--json"])
    assert result["gold_entities"] == _entities(test)


def test_a_repair_in_a_file_with_held_out_splits_is_said_once(tmp_path, capsys):
    train = entity_sentences(60, seed=15)
    train[7] = (["la", A, "dijo"], ["O", "I-PER", "O"])
    write_conll(tmp_path / "train.txt", train)
    capsys.readouterr()
    assert main(["tag", "train", str(tmp_path / "train.txt"), "--out", str(tmp_path / "r"),
                 "--hidden", "8", "--max-steps", "2"]) == 0
    captured = capsys.readouterr()
    notes = [l for l in (captured.out + captured.err).splitlines() if "ill-formed" in l]
    assert len(notes) == 1 and notes[0].startswith("1 "), notes


def test_explicit_valid_and_test_files(files, tmp_path, capsys):
    write_conll(tmp_path / "valid.txt", entity_sentences(37, seed=18))
    write_conll(tmp_path / "test.txt", entity_sentences(23, seed=19))
    out = tmp_path / "explicit"
    assert main(["tag", "train", str(files["small"]), "--out", str(out), "--valid",
                 str(tmp_path / "valid.txt"), "--test", str(tmp_path / "test.txt"), *SMALL]) == 0
    assert _config(out)["data"]["sentences"] == {"train": 60, "valid": 37, "test": 23}
    assert _json_out(capsys, ["tag", "eval", str(out), "--json"])["sentences"] == 23
    assert _json_out(capsys, ["eval", str(out), "--split", "valid", "--json"])["sentences"] == 37
    # only --valid: nothing held out of the training file for a test split
    out2 = tmp_path / "valid-only"
    assert main(["tag", "train", str(files["small"]), "--out", str(out2), "--valid",
                 str(tmp_path / "valid.txt"), *SMALL]) == 0
    assert _config(out2)["data"]["sentences"] == {"train": 60, "valid": 37}
    assert "no test split" in _error(capsys, ["tag", "eval", str(out2)])


def test_latin1_files_with_encoding(tmp_path, capsys):
    sentences = [(["el", "Ñoño", "está", "allá"], ["O", "B-LOC", "O", "O"]),
                 (["Íñigo", "Peña", "contó", "algo"], ["B-PER", "I-PER", "O", "O"])] * 15
    write_conll(tmp_path / "latin.txt", sentences, encoding="latin-1")
    assert "--encoding latin-1" in _error(capsys, ["tag", "train", str(tmp_path / "latin.txt"),
                                                   "--out", str(tmp_path / "x"), *SMALL])
    out = tmp_path / "latin"
    assert main(["tag", "train", str(tmp_path / "latin.txt"), "--out", str(out), "--encoding",
                 "latin-1", *SMALL]) == 0
    words = SequenceTagger.load(out).vocabs["source"]
    assert "Ñoño" in words.stoi and "Íñigo" in words.stoi
    result = _json_out(capsys, ["tag", "eval", str(out), "--data", str(tmp_path / "latin.txt"),
                                "--json"])  # the run's encoding
    assert result["sentences"] == 30 and result["gold_entities"] == 30
    (tmp_path / "in.txt").write_bytes("el Ñoño está\n".encode("latin-1"))
    records = _json_lines(capsys, ["tag", "predict", str(out), str(tmp_path / "in.txt"),
                                   "--encoding", "latin-1", "--json"])
    assert records[0]["tokens"] == ["el", "Ñoño", "está"]


def test_word_and_tag_columns_of_a_three_column_file(tmp_path, capsys):
    rows = "".join("".join(f"{t} {w} {'NP' if t != 'O' else 'NC'}\n" for w, t in zip(ws, ts))
                   + "\n" for ws, ts in entity_sentences(60, seed=20))
    (tmp_path / "three.txt").write_text(rows)  # TAG WORD POS
    err = _error(capsys, ["tag", "train", str(tmp_path / "three.txt"), "--out",
                          str(tmp_path / "x"), *SMALL])
    assert "line 1 of" in err and "three.txt" in err and ("'NC'" in err or "'NP'" in err), err
    out = tmp_path / "three"
    assert main(["tag", "train", str(tmp_path / "three.txt"), "--out", str(out),
                 "--word-column", "1", "--tag-column", "0", *SMALL]) == 0
    assert _config(out)["data"]["tags"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    words = SequenceTagger.load(out).vocabs["source"]
    assert "dijo" in words.stoi and "NP" not in words.stoi and "B-PER" not in words.stoi
    result = _json_out(capsys, ["tag", "eval", str(out), "--data", str(tmp_path / "three.txt"),
                                "--json"])  # read with the run's columns
    assert result["gold_entities"] == _entities(entity_sentences(60, seed=20))


@pytest.mark.parametrize("chars", ["cnn", "none"])
def test_other_character_encoders_train_and_predict(chars, files, tmp_path):
    out = tmp_path / chars
    assert main(["tag", "train", str(files["small"]), "--out", str(out), "--chars", chars,
                 *SMALL]) == 0
    model = SequenceTagger.load(out)
    assert _config(out)["model"]["chars"] == chars and (model.chars is None) == (chars == "none")
    result = as_dicts(model.predict([f"ayer {A} dijo", "Xylo nunca vista"]))
    assert [len(r["tags"]) for r in result] == [3, 3]


GLOVE = {"el": [0.5, -0.25, 1.0, 2.0, 0.125, -1.5], "la": [1.0, 1.0, -1.0, 0.0, 0.25, 0.75],
         "dijo": [0.0, 0.5, 0.5, 0.5, -0.5, 3.0], "zzz": [9.0] * 6}


def _glove(path):
    path.write_text("".join(f"{w} " + " ".join(f"{x:.4f}" for x in v) + "\n"
                            for w, v in GLOVE.items()))
    return path


def test_vectors_fill_the_rows_of_the_words_found_and_the_log_says_how_many(files, tmp_path,
                                                                            capsys):
    glove = _glove(tmp_path / "glove.txt")
    opts = TaggerOptions(data=str(files["small"]), vectors=str(glove), embedding=6, hidden=8,
                         train=TrainConfig(max_steps=1))
    prepared = prepare(opts)
    words = prepared.vocabs["source"]
    coverage = [n for n in prepared.notes if "pretrained vectors" in n]
    assert len(coverage) == 1 and f"3 of {len(words) - 2:,} words" in coverage[0], coverage
    model = build(opts, prepared)
    for word in ("el", "la", "dijo"):
        assert torch.equal(model.embedding.weight[words.stoi[word]].detach(),
                           torch.tensor(GLOVE[word])), word
    out = tmp_path / "vec"
    capsys.readouterr()
    assert main(["tag", "train", str(files["small"]), "--out", str(out), "--vectors", str(glove),
                 "--embedding", "6", "--hidden", "8", "--max-steps", "2"]) == 0
    captured = capsys.readouterr()
    log = captured.out + captured.err
    assert log.count("pretrained vectors") == 1 and "3 of" in log and "dimension 6" in log, log
    assert "dimension 3" in _error(capsys, ["tag", "train", str(files["small"]), "--out",
                                            str(tmp_path / "v2"), "--vectors", str(glove),
                                            "--embedding", "3", *SMALL])


def test_vectors_give_the_embedding_size_when_it_is_not_given(files, tmp_path):
    out = tmp_path / "vec"
    assert main(["tag", "train", str(files["small"]), "--out", str(out), "--vectors",
                 str(_glove(tmp_path / "glove.txt")), *SMALL]) == 0
    assert _config(out)["model"]["embedding_size"] == 6


# ----------------------------------------------------------------------------- bad input


_COLUMNS = conll_text(entity_sentences(5, seed=21)).splitlines()
COLUMNS_LINE = next(i for i in range(1, len(_COLUMNS)) if _COLUMNS[i]) + 1  # a token line
_COLUMNS[COLUMNS_LINE - 1] += " EXTRA"
_EPER = entity_sentences(6, seed=22)
_EPER[2] = (["la", A, "dijo"], ["O", "E-PER", "O"])
EPER_LINE = len(_EPER[0][0]) + 1 + len(_EPER[1][0]) + 1 + 2  # blank lines between sentences


def _bad_files(folder):
    (folder / "columns.txt").write_text("\n".join(_COLUMNS) + "\n")
    write_conll(folder / "eper.txt", _EPER)
    (folder / "empty.txt").write_text("")
    (folder / "docstart.txt").write_text("-DOCSTART- O\n\n\n")
    write_conll(folder / "latin.txt", [(["el", "Ñoño", "está"], ["O", "B-LOC", "O"])] * 5,
                encoding="latin-1")
    write_conll(folder / "org.txt", [(["la", A, "dijo"], ["O", "B-ORG", "O"])])


BAD_TRAIN = [  # (extra argv, what the message must hold)
    (["DATA=columns.txt"], [f"line {COLUMNS_LINE} of", "columns.txt", "3 columns", "(line 1)"]),
    (["--scheme", "XYZ"], ["'XYZ'", "IOB1", "BIOES"]),
    (["--tag-scheme", "XYZ"], ["'XYZ'"]),
    (["DATA=eper.txt"], [f"line {EPER_LINE} of", "eper.txt", "'E-PER'", "BIO"]),
    (["DATA=empty.txt"], ["empty.txt", "no sentences"]),
    (["DATA=docstart.txt"], ["docstart.txt", "no sentences"]),
    (["DATA=latin.txt"], ["line 2 of", "latin.txt", "utf-8", "--encoding latin-1"]),
    (["--test", "org.txt"], ["org.txt", "'B-ORG'", "seen in training"]),
    (["--head", "nope"], ["--head", "'nope'"]),
    (["--chars", "nope"], ["--chars", "'nope'"]),
    (["--hidden", "0"], ["--hidden: expected an integer from 1"]),
    (["--word-dropout", "1"], ["--word-dropout"]),
    (["--word-column", "5"], ["word column 5", "small.txt"]),
    (["DATA=missing.txt"], ["not found", "missing.txt"]),
]


@pytest.mark.parametrize("extra,words", BAD_TRAIN, ids=[" ".join(e) for e, _ in BAD_TRAIN])
def test_bad_training_input_gets_one_sentence(extra, words, files, tmp_path, capsys):
    _bad_files(tmp_path)
    data = str(files["small"])
    if extra[0].startswith("DATA="):
        data, extra = str(tmp_path / extra[0][5:]), extra[1:]
    extra = [str(tmp_path / e) if e.endswith(".txt") else e for e in extra]
    err = _error(capsys, ["tag", "train", data, "--out", str(tmp_path / "r"), *SMALL, *extra])
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "r" / "config.json").exists()


def test_an_unseen_tag_names_its_line(files, tmp_path, capsys):
    _bad_files(tmp_path)
    err = _error(capsys, ["tag", "train", str(files["small"]), "--out", str(tmp_path / "r"),
                          "--test", str(tmp_path / "org.txt"), *SMALL])
    assert "line 2" in err, err


def test_bad_eval_and_predict_input(bi_run, uni_run, cls_run, lm_run, tmp_path, capsys):
    (tmp_path / "t.txt").write_text(f"{A} dijo\n")
    text = str(tmp_path / "t.txt")
    assert "--nbest: expected an integer from 1" in _error(capsys, ["tag", "predict", str(bi_run),
                                                                    text, "--nbest", "0"])
    err = _error(capsys, ["tag", "predict", str(uni_run), text, "--nbest", "2"])
    assert "--nbest" in err and "CRF" in err and "--head crf" in err
    for run, title in ((cls_run, "sequence classifier"), (lm_run, "language model")):
        for verb in (["eval"], ["predict", text]):
            err = _error(capsys, ["tag", verb[0], str(run), *verb[1:]])
            assert f"is a {title} run, not a sequence tagger one" in err, err
    assert "not found" in _error(capsys, ["tag", "predict", str(bi_run),
                                          str(tmp_path / "nope.txt")])
    assert "not found" in _error(capsys, ["tag", "eval", str(bi_run), "--data",
                                          str(tmp_path / "nope.txt")])
    write_conll(tmp_path / "org.txt", [(["la", A, "dijo"], ["O", "B-ORG", "O"])])
    err = _error(capsys, ["tag", "eval", str(bi_run), "--data", str(tmp_path / "org.txt")])
    assert "'B-ORG'" in err and "org.txt" in err
    assert "no nope split" in _error(capsys, ["tag", "eval", str(bi_run), "--split", "nope"])
    (tmp_path / "latin.txt").write_bytes(f"{A} está allá\n".encode("latin-1"))
    assert "--encoding" in _error(capsys, ["tag", "predict", str(bi_run),
                                           str(tmp_path / "latin.txt")])


# ----------------------------------------------------------------------------- dispatch, output


def test_top_level_eval_and_predict_dispatch_to_the_tagger(bi_run, files, tmp_path, capsys):
    own = _json_out(capsys, ["tag", "eval", str(bi_run), "--data", str(files["held"]), "--json"])
    top = _json_out(capsys, ["eval", str(bi_run), "--data", str(files["held"]), "--json"])
    assert top == own
    assert _json_out(capsys, ["eval", str(bi_run), "--json"]) == \
        _json_out(capsys, ["tag", "eval", str(bi_run), "--json"])
    (tmp_path / "t.txt").write_text(f"ayer {A} dijo\nla {B} {C} queda\n")
    capsys.readouterr()
    assert main(["tag", "predict", str(bi_run), str(tmp_path / "t.txt")]) == 0
    tag_out = capsys.readouterr().out
    assert main(["predict", str(bi_run), str(tmp_path / "t.txt")]) == 0
    assert capsys.readouterr().out == tag_out == f"ayer [PER {A}] dijo\nla [LOC {B} {C}] queda\n"
    assert _json_lines(capsys, ["predict", str(bi_run), str(tmp_path / "t.txt"), "--json"]) == \
        _json_lines(capsys, ["tag", "predict", str(bi_run), str(tmp_path / "t.txt"), "--json"])


def test_eval_output_is_a_three_column_conll_file(bi_run, files, tmp_path, capsys):
    output = tmp_path / "out.conll"
    result = _json_out(capsys, ["tag", "eval", str(bi_run), "--data", str(files["held"]),
                                "--output", str(output), "--json"])
    held = entity_sentences(300, seed=1)
    lines = [l for l in output.read_text().splitlines() if l]
    assert len(lines) == sum(len(tokens) for tokens, _ in held)
    assert all(len(l.split(" ")) == 3 for l in lines)
    gold = conll.read_conll(output, tag_column=1, scheme="BIO")
    assert [(s.tokens, s.tags) for s in gold.sentences] == held
    predicted = conll.read_conll(output, tag_column=2, scheme="BIO")  # a CRF's: valid BIO
    again = evaluate_tags([s.tags for s in gold.sentences], [s.tags for s in predicted.sentences])
    assert again["f1"] == result["f1"] and again["correct_tokens"] == result["correct_tokens"]
    # the run's own test split too, and without --json (the text report)
    capsys.readouterr()
    assert main(["tag", "eval", str(bi_run), "--output", str(tmp_path / "test.conll")]) == 0
    assert capsys.readouterr().out.startswith("test split: ")
    assert len(conll.read_conll(tmp_path / "test.conll", tag_column=1)) == \
        _config(bi_run)["data"]["sentences"]["test"]


# ----------------------------------------------------------------------------- padding


@pytest.mark.parametrize("chars", ["lstm", "cnn", "none"])
def test_a_sentence_alone_and_in_a_padded_batch_gets_the_same_emissions(chars):
    rng = random.Random(23)
    torch.manual_seed(0)
    tags = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    model = SequenceTagger(40, 30, tags, hidden_size=7, embedding_size=6, chars=chars,
                           char_embedding_size=5, char_hidden_size=4, dropout=0.3,
                           word_dropout=0.5).double().eval()
    model.rare.fill_(True)  # word dropout would act on every word, were it training
    lengths = [1, 9, 4, 13, 2, 9]
    data = Encoded([], [], [], [])
    for n in lengths:
        data.words.append(np.array([rng.randrange(2, 40) for _ in range(n)]))
        data.chars.append([np.array([rng.randrange(1, 30) for _ in range(rng.randint(1, 11))])
                           for _ in range(n)])
        data.tags.append(np.array([rng.randrange(5) for _ in range(n)]))
        data.tokens.append(["w"] * n)
    make = collate(data)
    order = [3, 0, 5, 1, 4, 2]  # mixed lengths, not sorted
    with torch.no_grad():
        together = model.emissions(make(order))  # (T, B, N)
        assert together.dtype == torch.float64 and together.shape == (13, 6, 5)
        for b, i in enumerate(order):
            alone = model.emissions(make([i]))  # (n, 1, N)
            n = lengths[i]
            assert torch.allclose(together[:n, b], alone[:, 0], rtol=0, atol=1e-12), (chars, i)
        # and the CRF's decoding, paths and marginals, batch or not
        batch = make(order)
        paths, probs = model.decode(batch)
        for b, i in enumerate(order):
            one_paths, one_probs = model.decode(make([i]))
            assert paths[b] == one_paths[0]
            assert torch.allclose(probs[:lengths[i], b], one_probs[:, 0], atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_a_bidirectional_min_cell_tagger_learns_types_decided_by_the_next_word(cell, runs, files,
                                                                           capsys):
    """minGRU/minLSTM in the tagger: both directions (the backward one reads the cue after the
    name) and the CRF, trained as the BiLSTM-CRF above, reach entity F1 >= 0.9 held out."""
    out = runs / cell
    assert main(["tag", "train", str(files["train"]), "--out", str(out), *LEARN,
                 "--cell", cell]) == 0
    result = _json_out(capsys, ["tag", "eval", str(out), "--data", str(files["held"]), "--json"])
    assert result["f1"] >= 0.9, (cell, result["f1"], result["per_type"])
