"""The sequence classifier end to end: it learns an order-only task a bag of words cannot, its
runs load and predict identically from Python and the command line, every input format, and
every bad input's one-sentence error."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from recurrente.cli.main import main
from recurrente.tasks.classify.options import ClassifierOptions
from recurrente.tasks.classify.task import build, prepare
from recurrente.tasks.classify.model import SequenceClassifier
from recurrente.train.config import TrainConfig
from tests.classify_fixtures import order_examples, write_csv
from tests.lm_fixtures import word_corpus
from tests.results import as_dicts

SMALL = ["--hidden", "8", "--max-steps", "2", "--quiet"]  # format and error tests: seconds


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    return {"train": write_csv(folder / "train.csv", order_examples(1000, seed=0)),
            "held": write_csv(folder / "held.csv", order_examples(400, seed=1)),
            "small": write_csv(folder / "small.csv", order_examples(120, seed=2)),
            "folder": folder}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, files):
    out = tmp_path_factory.mktemp("runs") / "order"
    assert main(["classify", "train", str(files["train"]), "--out", str(out), "--hidden", "32",
                 "--max-steps", "150", "--eval-every", "50", "--lr", "0.01", "--dropout", "0",
                 "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    (folder / "words.txt").write_text(word_corpus(2000))
    out = folder / "run"
    assert main(["train", str(folder / "words.txt"), "--out", str(out), "--preset", "tiny",
                 "--seq-len", "16", "--batch-size", "8", "--max-steps", "2", "--quiet"]) == 0
    return out


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


# ----------------------------------------------------------------------------- learning


def bag_of_words_accuracy(train_rows, test_rows) -> float:
    """Logistic regression on word counts (plus a bias), fitted by full-batch gradient descent."""
    words = sorted({w for text, _ in train_rows for w in text.split()})
    index = {w: i for i, w in enumerate(words)}

    def features(rows):
        x = np.zeros((len(rows), len(words) + 1))
        for r, (text, _) in enumerate(rows):
            for w in text.split():
                if w in index:
                    x[r, index[w]] += 1
            x[r, -1] = 1.0
        return x, np.array([label == "antes" for _, label in rows], dtype=np.float64)

    x, y = features(train_rows)
    mean, scale = x[:, :-1].mean(0), x[:, :-1].std(0) + 1e-9
    standard = lambda f: np.hstack([(f[:, :-1] - mean) / scale, f[:, -1:]])  # noqa: E731
    x = standard(x)
    w = np.zeros(x.shape[1])
    for _ in range(3000):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        w -= 0.5 * (x.T @ (p - y) / len(y) + 1e-4 * w)
    xt, yt = features(test_rows)
    return float(((standard(xt) @ w > 0) == yt.astype(bool)).mean())


@pytest.mark.slow
def test_learns_word_order_that_a_bag_of_words_cannot(run_dir, files, capsys):
    result = _json_out(capsys, ["classify", "eval", str(run_dir), "--data", str(files["held"]),
                                "--json"])
    bow = bag_of_words_accuracy(order_examples(1000, seed=0), order_examples(400, seed=1))
    assert result["examples"] == 400 and result["labels"] == ["antes", "despues"]
    assert result["accuracy"] >= 0.95, \
        f"recurrent classifier: held-out accuracy {result['accuracy']:.3f} (bag of words {bow:.3f})"
    assert bow <= 0.6, \
        f"bag of words: held-out accuracy {bow:.3f} (recurrent classifier {result['accuracy']:.3f})"
    assert np.array(result["confusion"]).sum() == 400
    assert set(result["per_class"]) == {"antes", "despues"}
    # the baseline is not broken: it learns a label that the word counts do decide
    by_count = [(t, "antes" if "gato" in t.split() else "despues")
                for t, _ in order_examples(1000, seed=0)]
    assert bag_of_words_accuracy(by_count[:800], by_count[800:]) >= 0.95


def test_run_directory_and_summary(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "last", "metrics.jsonl", "vocabs"} <= names
    assert {p.name for p in (run_dir / "vocabs").iterdir()} == {"source.json", "labels.json"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "classify" and config["model"]["class"] == "SequenceClassifier"
    assert config["data"]["labels"] == ["antes", "despues"]
    assert config["data"]["text_column"] == "text" and config["data"]["label_column"] == "label"
    assert config["data"]["examples"]["train"] + config["data"]["examples"]["valid"] \
        + config["data"]["examples"]["test"] == 1000
    evals = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in l]
    assert [e["step"] for e in evals] == [50, 100, 150]
    assert all("valid_accuracy" in e and "valid_macro_f1" in e for e in evals)


def test_eval_of_the_runs_own_test_split(run_dir, capsys):
    result = _json_out(capsys, ["classify", "eval", str(run_dir), "--json"])
    assert result["examples"] == json.loads((run_dir / "config.json").read_text())[
        "data"]["examples"]["test"]
    assert result["accuracy"] >= 0.9
    capsys.readouterr()
    assert main(["classify", "eval", str(run_dir), "--split", "valid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("valid split: ") and "accuracy" in out and "confusion" in out


# ----------------------------------------------------------------------------- save / load


def test_load_predicts_the_same_as_a_second_load_and_the_command_line(run_dir, tmp_path, capsys):
    texts = [t for t, _ in order_examples(30, seed=5)] + ["alfa beta", "beta alfa", "", "¿qué?"]
    first = as_dicts(SequenceClassifier.load(run_dir).predict(texts, top_k=2))
    second = as_dicts(SequenceClassifier.load(run_dir).predict(texts, top_k=2))
    p1 = np.array([[p for _, p in sorted(r["top"])] for r in first])
    p2 = np.array([[p for _, p in sorted(r["top"])] for r in second])
    assert np.array_equal(p1, p2)
    assert [r["label"] for r in first] == [r["label"] for r in second]
    for r in first:
        assert r["top"][0] == (r["label"], r["probability"])
        assert r["top"][0][1] >= r["top"][1][1]
        assert abs(sum(p for _, p in r["top"]) - 1) < 1e-9
    assert first[30]["label"] == "antes" and first[31]["label"] == "despues"

    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    capsys.readouterr()
    assert main(["classify", "predict", str(run_dir), str(tmp_path / "texts.txt"), "--json",
                 "--top-k", "2"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["text"] for l in lines] == texts
    for line, r in zip(lines, first):
        assert line["label"] == r["label"]
        assert abs(line["probability"] - r["probability"]) < 1e-6
        assert [lab for lab, _ in line["top"]] == [lab for lab, _ in r["top"]]
        assert np.allclose([p for _, p in line["top"]], [p for _, p in r["top"]], atol=1e-6)
    # top-1 plain output: label TAB probability
    assert main(["classify", "predict", str(run_dir), str(tmp_path / "texts.txt")]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert [l.split("\t")[0] for l in plain] == [r["label"] for r in first]


def test_python_api_is_lazily_exported(run_dir):
    import recurrente
    assert recurrente.SequenceClassifier is SequenceClassifier
    model = recurrente.SequenceClassifier.load(run_dir)
    assert not model.training and set(model.vocabs) == {"source", "labels"}


# ----------------------------------------------------------------------------- formats


def test_tsv_with_named_columns(files, tmp_path, capsys):
    rows = [(label, text) for text, label in order_examples(120, seed=3)]
    tsv = write_csv(tmp_path / "data.tsv", rows, header=("clase", "frase"), delimiter="\t")
    out = tmp_path / "tsv"
    assert "--text-column" in _error(capsys, ["classify", "train", str(tsv), "--out", str(out),
                                              *SMALL])
    assert main(["classify", "train", str(tsv), "--out", str(out), "--text-column", "frase",
                 "--label-column", "clase", *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["data"]["text_column"], config["data"]["label_column"]) == ("frase", "clase")
    assert config["data"]["labels"] == ["antes", "despues"]
    assert config["data"]["sources"]["train"]["kind"] == "tsv"


def test_jsonl_with_integer_labels(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"sentence": text, "y": 10 if label == "antes" else 2})
                            + "\n" for text, label in order_examples(120, seed=4)))
    out = tmp_path / "jsonl"
    assert main(["classify", "train", str(path), "--out", str(out), *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["labels"] == ["2", "10"]  # numeric order, as strings
    capsys.readouterr()
    (tmp_path / "t.txt").write_text("alfa uno beta\n")
    assert main(["predict", str(out), str(tmp_path / "t.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("2", "10")


def test_folder_of_class_folders(tmp_path):
    corpus = tmp_path / "corpus"
    for k, (text, label) in enumerate(order_examples(120, seed=6)):
        (corpus / label).mkdir(parents=True, exist_ok=True)
        (corpus / label / f"{k:03d}.txt").write_text(text)
    (corpus / ".hidden").mkdir()
    (corpus / ".hidden" / "x.txt").write_text("alfa beta")
    out = tmp_path / "folder"
    assert main(["classify", "train", str(corpus), "--out", str(out), *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["labels"] == ["antes", "despues"]
    assert config["data"]["sources"]["train"]["kind"] == "folder"
    assert sum(config["data"]["examples"].values()) == 120


def test_explicit_valid_and_test_files(files, tmp_path, capsys):
    valid = write_csv(tmp_path / "valid.csv", order_examples(37, seed=7))
    test = write_csv(tmp_path / "test.csv", order_examples(23, seed=8))
    out = tmp_path / "explicit"
    assert main(["classify", "train", str(files["small"]), "--out", str(out), "--valid",
                 str(valid), "--test", str(test), *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["examples"] == {"train": 120, "valid": 37, "test": 23}
    assert _json_out(capsys, ["classify", "eval", str(out), "--json"])["examples"] == 23
    assert _json_out(capsys, ["eval", str(out), "--split", "valid", "--json"])["examples"] == 37


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_get_one_sentence(files, tmp_path, capsys):
    out = str(tmp_path / "r")
    train = str(files["small"])
    err = _error(capsys, ["classify", "train", train, "--out", out, "--text-column", "nope",
                          *SMALL])
    assert "'nope'" in err and "'text'" in err  # names the column and those there are
    (tmp_path / "empty.csv").write_text("")
    assert "no examples" in _error(capsys, ["classify", "train", str(tmp_path / "empty.csv"),
                                            "--out", out, *SMALL])
    (tmp_path / "header.csv").write_text("text,label\n")
    assert "no examples" in _error(capsys, ["classify", "train", str(tmp_path / "header.csv"),
                                            "--out", out, *SMALL])
    test = write_csv(tmp_path / "test.csv", order_examples(5, seed=9) + [("alfa beta", "quizas")])
    err = _error(capsys, ["classify", "train", train, "--out", out, "--test", str(test), *SMALL])
    assert "'quizas'" in err and "test.csv" in err
    err = _error(capsys, ["classify", "train", train, "--out", out, "--pooling", "nope", *SMALL])
    assert "--pooling" in err and "'nope'" in err
    assert "not found" in _error(capsys, ["classify", "train", str(tmp_path / "missing.csv"),
                                          "--out", out, *SMALL])
    assert not (tmp_path / "r" / "config.json").exists()


def test_texts_longer_than_max_len_are_cut_and_said_once(files, tmp_path, capsys):
    out = tmp_path / "cut"
    capsys.readouterr()
    assert main(["classify", "train", str(files["small"]), "--out", str(out), "--max-len", "10",
                 "--hidden", "8", "--max-steps", "2", "--eval-every", "1"]) == 0
    captured = capsys.readouterr()
    log = captured.out + captured.err
    assert log.count("are cut to it") == 1, log
    assert "--max-len 10" in log
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["truncated"]["train"] > 0
    assert main(["classify", "eval", str(out), "--data", str(files["held"])]) == 0
    assert "cut to --max-len" in capsys.readouterr().out


def test_a_language_model_run_is_refused_by_the_classifier_commands(lm_run, tmp_path, capsys):
    err = _error(capsys, ["classify", "eval", str(lm_run)])
    assert "language model" in err and "classifier" in err
    (tmp_path / "t.txt").write_text("gato\n")
    err = _error(capsys, ["predict", str(lm_run), str(tmp_path / "t.txt")])
    assert "recurrente sample" in err
    err = _error(capsys, ["classify", "predict", str(lm_run), str(tmp_path / "t.txt")])
    assert "language model" in err


def test_a_classifier_run_is_refused_by_sample(run_dir, capsys):
    assert "classifier" in _error(capsys, ["sample", str(run_dir), "-n", "3"])


# ----------------------------------------------------------------------------- vectors


def _glove(path: Path, rows: dict) -> Path:
    path.write_text("".join(f"{w} " + " ".join(f"{x:.4f}" for x in v) + "\n"
                            for w, v in rows.items()))
    return path


GLOVE = {"alfa": [0.5, -0.25, 1.0, 2.0, 0.125, -1.5], "beta": [1.0, 1.0, -1.0, 0.0, 0.25, 0.75],
         "DOS": [0.0, 0.5, 0.5, 0.5, -0.5, 3.0], "uno": [-2.0, 0.0, 0.0, 1.0, 1.0, 1.0],
         "zzz": [9.0, 9.0, 9.0, 9.0, 9.0, 9.0]}


def test_vectors_fill_the_embedding_rows_of_the_words_found(files, tmp_path):
    glove = _glove(tmp_path / "glove.txt", GLOVE)
    opts = ClassifierOptions(data=str(files["small"]), vectors=str(glove), hidden=8,
                             train=TrainConfig(max_steps=1))
    prepared = prepare(opts)
    source = prepared.vocabs["source"]
    coverage = [n for n in prepared.notes if "pretrained vectors" in n]
    assert len(coverage) == 1 and f"4 of {len(source) - 2:,} words" in coverage[0], coverage
    assert "dimension 6" in coverage[0]
    torch.manual_seed(0)
    model = build(opts, prepared)
    assert model.embedding.weight.shape == (len(source), 6)
    for word, file_word in (("alfa", "alfa"), ("beta", "beta"), ("dos", "DOS"), ("uno", "uno")):
        row = model.embedding.weight[source.stoi[word]].detach()
        assert torch.equal(row, torch.tensor(GLOVE[file_word])), word
    assert "zzz" not in source
    assert torch.equal(model.embedding.weight[source.pad_id], torch.zeros(6))


def test_vectors_through_the_command_line(files, tmp_path, capsys):
    glove = _glove(tmp_path / "glove.txt", GLOVE)
    out = tmp_path / "vec"
    capsys.readouterr()
    assert main(["classify", "train", str(files["small"]), "--out", str(out), "--vectors",
                 str(glove), *SMALL]) == 0
    log = capsys.readouterr().out
    assert log.count("pretrained vectors") == 1 and "4 of" in log, log
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["embedding_size"] == 6
    assert "dimension 3" in _error(capsys, ["classify", "train", str(files["small"]), "--out",
                                            str(tmp_path / "v2"), "--vectors", str(glove),
                                            "--embedding", "3", *SMALL])


# ----------------------------------------------------------------------------- dispatch, png


def test_top_level_eval_and_predict_dispatch_to_the_classifier(run_dir, files, tmp_path, capsys):
    own = _json_out(capsys, ["classify", "eval", str(run_dir), "--data", str(files["held"]),
                             "--json"])
    top = _json_out(capsys, ["eval", str(run_dir), "--data", str(files["held"]), "--json"])
    assert top == own
    (tmp_path / "t.txt").write_text("alfa uno beta\nbeta dos alfa\n")
    capsys.readouterr()
    assert main(["classify", "predict", str(run_dir), str(tmp_path / "t.txt"), "--top-k", "2"]) == 0
    classify_out = capsys.readouterr().out
    assert main(["predict", str(run_dir), str(tmp_path / "t.txt"), "--top-k", "2"]) == 0
    assert capsys.readouterr().out == classify_out
    assert classify_out.splitlines()[0].startswith("antes ")


def test_png_of_the_confusion_matrix(run_dir, files, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "confusion.png"
    assert main(["classify", "eval", str(run_dir), "--data", str(files["held"]), "--png",
                 str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = tmp_path / "top.png"
    assert main(["eval", str(run_dir), "--png", str(other)]) == 0
    assert other.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_a_mingru_classifier_learns_word_order(files, tmp_path, capsys):
    """`--cell mingru` (gates from X_t only, a linear recurrence per layer) still learns which of
    two words comes first, which no bag of words can (see the test above): held-out accuracy
    >= 0.85 after 300 steps; its ONNX export passes the parity check."""
    out = tmp_path / "mingru"
    assert main(["classify", "train", str(files["train"]), "--out", str(out), "--hidden", "32",
                 "--cell", "mingru", "--max-steps", "300", "--quiet"]) == 0
    result = _json_out(capsys, ["classify", "eval", str(out), "--data", str(files["held"]),
                                "--json"])
    assert result["accuracy"] >= 0.85, result["accuracy"]
    assert main(["export", str(out), "--out", str(tmp_path / "onnx")]) == 0
    assert (tmp_path / "onnx" / "manifest.json").exists()
