"""ONNX export of minGRU and minLSTM models: the exportable layer (the scan in plain operators)
is the package layer in float64, and the language model, the classifier and the translator
export, pass their parity check and agree with the model in onnxruntime at two lengths."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from recurrente.cli.main import main  # noqa: E402
from recurrente.export.graphs import NativeStack, PackedLayer  # noqa: E402
from recurrente.export.min_graphs import MinStack, doubling_scan  # noqa: E402
from recurrente.export.onnx import TOLERANCE  # noqa: E402
from recurrente.layers import make_layer  # noqa: E402
from recurrente.layers.scan import sequential_scan  # noqa: E402
from recurrente.train.run import load_run  # noqa: E402
from tests.classify_fixtures import order_examples, write_csv  # noqa: E402
from tests.lm_fixtures import word_corpus  # noqa: E402
from tests.translate_fixtures import reverse_pairs, write_tsv  # noqa: E402

CELLS = ("mingru", "minlstm")


def _close(got, expected, what):
    diff = float(np.abs(np.asarray(got, np.float64) - expected.double().numpy()).max())
    assert diff <= TOLERANCE, f"{what}: {diff:.2e}"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_exportable_layer_is_the_package_layer_in_float64(cell, bidirectional):
    torch.manual_seed(0)
    layer = make_layer(cell, 5, 6, 2, bidirectional=bidirectional).double().eval()
    stack = MinStack(layer)
    K, T, B = layer.num_directions, 9, 4
    x = torch.randn(T, B, 5, dtype=torch.float64) * 3
    h0 = torch.randn(2 * K, B, 6, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 1, 6])
    with torch.no_grad():
        for state in (None, h0):
            for n in (None, lengths):
                (y, final), (y2, final2) = layer(x, state, n), stack(x, state, n)
                assert y2.shape == y.shape and final2.shape == final.shape == (2 * K, B, 6)
                assert torch.allclose(y2, y, atol=1e-12, rtol=0) and \
                    torch.allclose(final2, final, atol=1e-12, rtol=0), (state is None, n)
        y, final = layer(x[:1], h0)  # one step: the step equations
        y2, final2 = stack(x[:1], h0)
        assert torch.allclose(y2, y, atol=1e-12) and torch.allclose(final2, final, atol=1e-12)
        y, final = layer(x, h0, lengths)  # the tasks' hooks: (K, B, H) and (L*K, B, H)
        y2, top = NativeStack(layer)(x, h0, lengths)
        assert torch.allclose(y2, y, atol=1e-12) and torch.allclose(top, final[-K:], atol=1e-12)
        y, final = layer(x, None, lengths)
        y2, final2 = PackedLayer(layer)(x, lengths)
        assert torch.allclose(y2, y, atol=1e-12) and torch.allclose(final2, final, atol=1e-12)


def test_doubling_scan_is_the_recurrence_at_every_length():
    torch.manual_seed(1)
    for T in (1, 2, 3, 8, 33, 300):
        a = torch.rand(T, 2, 3, dtype=torch.float64)
        b, h0 = torch.randn(T, 2, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
        expected = sequential_scan(a, b, h0)
        assert torch.allclose(doubling_scan(a, b, h0), expected, atol=1e-12), T
        assert torch.allclose(doubling_scan(a, b), sequential_scan(a, b, torch.zeros(2, 3,
                              dtype=torch.float64)), atol=1e-12), T
    # 3 rounds reach 2^3 = 8 steps back: the 9th step is the first they get wrong
    short = doubling_scan(a[:9], b[:9], h0, rounds=3)
    assert torch.allclose(short[:8], expected[:8], atol=1e-12)
    assert not torch.allclose(short[8], expected[8], atol=1e-6)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Tiny trained runs (2 steps) of min-cell models, each exported: {name: (run, folder)}."""
    root = tmp_path_factory.mktemp("export_min")
    (root / "corpus.txt").write_text(word_corpus(1000))
    write_csv(root / "order.csv", order_examples(120, seed=1))
    write_tsv(root / "pairs.tsv", reverse_pairs(120, seed=3))
    made = {}
    for name, argv in {
        "lm": ["train", str(root / "corpus.txt"), "--preset", "tiny", "--hidden", "16",
               "--layers", "2", "--cell", "mingru"],
        "classify": ["classify", "train", str(root / "order.csv"), "--hidden", "8",
                     "--cell", "minlstm", "--pooling", "last"],
        "translate": ["translate", "train", str(root / "pairs.tsv"), "--hidden", "16",
                      "--attention", "additive", "--cell", "mingru"],
    }.items():
        run, out = root / name, root / f"{name}_onnx"
        assert main([*argv, "--out", str(run), "--max-steps", "2", "--quiet"]) == 0
        assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
        made[name] = run, out
    return made


def _session(folder, graph):
    import onnxruntime as ort
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["graphs"][graph]["max_abs_diff"] <= TOLERANCE
    return ort.InferenceSession(str(folder / f"{graph}.onnx"),
                                providers=["CPUExecutionProvider"])


def test_language_model_exports_with_a_dynamic_time_axis(exported):
    run_dir, out = exported["lm"]
    model = load_run(run_dir).model
    sequence, step = _session(out, "lm_sequence"), _session(out, "lm_step")
    rng = np.random.default_rng(0)
    L, H, V = model.rnn.num_layers, model.rnn.hidden_size, model.vocab_size
    for T in (3, 23):
        ids = rng.integers(0, V, size=(T, 2))
        h0 = rng.standard_normal((L, 2, H)).astype(np.float32)
        with torch.no_grad():
            logits, h = model(torch.from_numpy(ids), torch.from_numpy(h0))
        got_logits, got_h = sequence.run(None, {"ids": ids, "h0": h0})
        _close(got_logits, logits, f"logits at T={T}")
        _close(got_h, h, f"h at T={T}")
        got_logits, got_h = step.run(None, {"ids": ids[0], "h0": h0})  # one token per stream
        with torch.no_grad():
            logits, h = model(torch.from_numpy(ids[:1]), torch.from_numpy(h0))
        _close(got_logits, logits[0], "lm_step logits")
        _close(got_h, h, "lm_step h")


def test_bidirectional_classifier_exports_with_a_dynamic_time_axis(exported):
    run_dir, out = exported["classify"]
    model = load_run(run_dir).model
    assert model.rnn.cell == "minlstm" and model.rnn.num_directions == 2
    session = _session(out, "classifier")
    rng = np.random.default_rng(1)
    for T in (4, 19):
        ids = rng.integers(2, model._config["vocab_size"], size=(T, 3))
        lengths = np.array([T, 1, max(1, T // 2)])
        with torch.no_grad():
            expected = torch.softmax(model(torch.from_numpy(ids), torch.from_numpy(lengths)), -1)
        _close(session.run(None, {"ids": ids, "lengths": lengths})[0], expected,
               f"probabilities at T={T}")


def test_translator_exports_with_a_dynamic_time_axis(exported):
    run_dir, out = exported["translate"]
    model = load_run(run_dir).model
    encoder, step = _session(out, "encoder"), _session(out, "decoder_step")
    rng = np.random.default_rng(2)
    for S in (5, 17):
        src = rng.integers(4, model._config["source_vocab_size"], size=(S, 3))
        lengths = np.array([S, 2, max(1, S - 3)])
        with torch.no_grad():
            state = model.encode(torch.from_numpy(src), torch.from_numpy(lengths))
        keys, memory, hidden = encoder.run(None, {"src": src, "src_lengths": lengths})
        _close(keys, state["memory"].keys, f"keys at S={S}")
        _close(memory, state["memory"].projected, f"memory at S={S}")
        _close(hidden, torch.stack(state["hidden"]), f"hidden at S={S}")
        tokens = rng.integers(4, model._config["target_vocab_size"], size=3)
        with torch.no_grad():
            log_probs, new = model.decoder.log_probs(torch.from_numpy(tokens), state)
        got = step.run(None, {"tokens": tokens, "hidden": hidden,
                              "feed": state["feed"].numpy(), "keys": keys, "memory": memory,
                              "src_lengths": lengths})
        _close(got[0], log_probs, f"log_probs at S={S}")
        _close(got[1], torch.stack(new["hidden"]), f"next_hidden at S={S}")


def test_a_cell_export_cannot_rebuild_is_refused_in_one_sentence(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"cell": "slstm"}}))
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "slstm model" in err and all(c in err for c in ("lstm", "gru", "rnn", *CELLS))
    assert not (tmp_path / "o").exists()
