"""ONNX export: every task's graphs agree with the model in onnxruntime, the manifest and the
vocabularies are enough to use them without recurrente, and bad requests get one sentence."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from recurrente.cli.main import main  # noqa: E402
from recurrente.export.onnx import TOLERANCE  # noqa: E402
from recurrente.export.viterbi import load_crf, viterbi  # noqa: E402
from recurrente.tasks.tag.export import tagger_inputs  # noqa: E402
from recurrente.train.run import load_run  # noqa: E402
from tests.lm_fixtures import word_corpus  # noqa: E402
from tests.tag_fixtures import entity_sentences, write_conll  # noqa: E402
from tests.classify_fixtures import order_examples, write_csv  # noqa: E402
from tests.translate_fixtures import reverse_pairs, write_tsv  # noqa: E402
from tests.results import as_dicts  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    (root / "corpus.txt").write_text(word_corpus(2000))
    write_csv(root / "order.csv", order_examples(200, seed=1))
    write_conll(root / "ner.txt", entity_sentences(80, seed=2))
    write_tsv(root / "pairs.tsv", reverse_pairs(200, seed=3))
    made = {}
    for name, argv in {
        "lm": ["train", str(root / "corpus.txt"), "--preset", "tiny", "--hidden", "16",
               "--layers", "2", "--cell", "gru"],
        "classify": ["classify", "train", str(root / "order.csv"), "--hidden", "8",
                     "--pooling", "attention"],
        "tag": ["tag", "train", str(root / "ner.txt"), "--hidden", "8", "--layers", "2"],
        "tag_cnn": ["tag", "train", str(root / "ner.txt"), "--hidden", "8", "--chars", "cnn",
                    "--head", "softmax"],
        "translate": ["translate", "train", str(root / "pairs.tsv"), "--hidden", "16",
                      "--attention", "additive"],
    }.items():
        made[name] = root / name
        assert main([*argv, "--out", str(made[name]), "--max-steps", "3", "--quiet"]) == 0
    return made


@pytest.mark.parametrize("task,graphs", [("lm", {"lm_sequence", "lm_step"}),
                                         ("classify", {"classifier"}), ("tag", {"tagger"}),
                                         ("tag_cnn", {"tagger"}),
                                         ("translate", {"encoder", "decoder_step"})])
def test_export_passes_its_parity_check(runs, tmp_path, capsys, task, graphs):
    out = tmp_path / "onnx"
    assert main(["export", str(runs[task]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["graphs"]) == graphs
    for name, graph in manifest["graphs"].items():
        assert (out / graph["file"]).exists() and graph["max_abs_diff"] <= TOLERANCE
        assert f"{name}.onnx: onnxruntime vs PyTorch, max abs difference" in printed
        dynamic = [d for v in graph["inputs"] for d in v["shape"] if isinstance(d, str)]
        assert "B" in dynamic
    assert (out / "vocabs" / "source.json").exists()


def test_tagger_graph_and_numpy_viterbi_decode_as_the_model(runs, tmp_path):
    import onnxruntime as ort
    out = tmp_path / "onnx"
    assert main(["export", str(runs["tag"]), "--out", str(out)]) == 0
    run = load_run(runs["tag"], task="tag")
    session = ort.InferenceSession(str(out / "tagger.onnx"))
    crf = load_crf(out / "crf.json")
    rng = np.random.default_rng(0)
    V, C = run.model._config["vocab_size"], run.model._config["char_vocab_size"]
    lengths = torch.tensor([6, 2, 9])
    words = torch.from_numpy(rng.integers(2, V, size=(9, 3)))
    letters = [rng.integers(2, C, size=4) for t in range(9) for b in range(3) if t < lengths[b]]
    inputs = tagger_inputs(words, lengths, letters)
    names = ["words", "lengths", "chars", "char_lengths", "char_index"]
    emissions = session.run(None, dict(zip(names, (t.numpy() for t in inputs))))[0]
    batch = dict(zip(["words", "lengths", "chars", "char_lengths"], inputs[:4]))
    expected = run.model.decode(batch)[0]
    got = [viterbi(emissions[:n, b].astype(np.float64), **crf)
           for b, n in enumerate(lengths.tolist())]
    assert got == expected


def test_exported_classifier_runs_without_recurrente_or_torch(runs, tmp_path):
    out = tmp_path / "onnx"
    assert main(["export", str(runs["classify"]), "--out", str(out)]) == 0
    script = f"""
import json, sys, numpy as np, onnxruntime as ort
root = {str(out)!r}
manifest = json.load(open(root + "/manifest.json"))
vocab = json.load(open(root + "/vocabs/source.json"))
stoi = {{w: i for i, w in enumerate(vocab["itos"])}}
ids = [stoi.get(w, manifest["unk_id"]) for w in "w1 alfa w2 beta".split()]
session = ort.InferenceSession(root + "/classifier.onnx")
probs = session.run(None, {{"ids": np.array(ids)[:, None], "lengths": np.array([len(ids)])}})[0]
assert "torch" not in sys.modules and "recurrente" not in sys.modules
print(json.dumps(probs[0].tolist()))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    probs = json.loads(done.stdout)
    from recurrente.tasks.classify.model import SequenceClassifier
    model = SequenceClassifier.load(runs["classify"])
    expected = as_dicts(model.predict(["w1 alfa w2 beta"], top_k=2))[0]["top"]
    labels = json.loads((out / "manifest.json").read_text())["labels"]
    for label, p in expected:
        assert abs(probs[labels.index(label)] - p) < 1e-5


def _error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_bad_exports_get_one_sentence(runs, tmp_path, capsys, monkeypatch):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert "not empty" in _error(capsys, ["export", str(runs["lm"]), "--out",
                                          str(tmp_path / "full")])
    assert "not a recurrente run" in _error(capsys, ["export", str(tmp_path), "--out",
                                                     str(tmp_path / "o")])
    import builtins
    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.startswith("onnx"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert "recurrente[export]" in _error(capsys, ["export", str(runs["lm"]), "--out",
                                                   str(tmp_path / "o2")])
    assert not (tmp_path / "o2").exists()


def test_a_task_without_an_export_part_is_refused_in_one_sentence(runs, tmp_path, capsys,
                                                                   monkeypatch):
    from recurrente.tasks.base import TaskSpec
    real = TaskSpec.part

    def part(spec, name, required=False):  # the language model as a task without export.py
        if name == "export" and spec.name == "lm":
            return None
        return real(spec, name, required)
    monkeypatch.setattr(TaskSpec, "part", part)
    err = _error(capsys, ["export", str(runs["lm"]), "--out", str(tmp_path / "o")])
    assert "language model run cannot be exported" in err
    from recurrente.tasks import registry
    others = ", ".join(n for n in registry.names() if n != "lm")
    assert others in err and " lm" not in err.split("exported are")[1]
    assert not (tmp_path / "o").exists()


def test_course_gru_is_refused_with_a_reason(tmp_path, capsys):
    from recurrente.export.graphs import NativeStack
    from recurrente.errors import UserError
    from recurrente.layers import make_layer
    with pytest.raises(UserError, match="reset_after"):
        NativeStack(make_layer("gru", 3, 4, reset_after=False, implementation="scratch"))


def test_exported_translator_decodes_greedily_as_the_model(runs, tmp_path):
    import onnxruntime as ort
    from recurrente.tasks.seq2seq.model import Seq2Seq
    out = tmp_path / "onnx"
    assert main(["export", str(runs["translate"]), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    encoder = ort.InferenceSession(str(out / "encoder.onnx"))
    step = ort.InferenceSession(str(out / "decoder_step.onnx"))
    model = Seq2Seq.load(runs["translate"])
    from recurrente.tasks.seq2seq.inference import encode_sources, target_text
    sentence = "a b c d e f"
    ids = encode_sources(model, [sentence])[0]
    keys, memory, hidden, cell = encoder.run(None, {"src": ids[:, None],
                                                    "src_lengths": np.array([len(ids)])})
    feed = np.zeros((1, model.decoder.out_size), np.float32)
    token, tokens = manifest["bos_id"], []
    from recurrente.tasks.seq2seq.search import max_lengths
    for _ in range(max_lengths([len(ids)])[0]):  # the model's own limit, <eos> counted
        log_probs, hidden, cell, feed, _ = step.run(None, {
            "tokens": np.array([token]), "hidden": hidden, "cell": cell, "feed": feed,
            "keys": keys, "memory": memory, "src_lengths": np.array([len(ids)])})
        log_probs[0, [manifest["pad_id"], manifest["bos_id"]]] = -np.inf
        token = int(log_probs[0].argmax())
        if token == manifest["eos_id"]:
            break
        tokens.append(token)
    assert target_text(model, tokens) == model.translate([sentence])[0].text
