"""The sequence regressor end to end: it learns a number that only word order decides (a bag
of words and a constant cannot), its metrics agree with numpy and a hand computation, a run
trains, evaluates and predicts the same from the command line and from Python, saves and loads,
answers on ``recurrente serve``, exports to ONNX, and bad input gets one sentence."""

import csv
import json
import random
import shutil
import time
import urllib.request

import numpy as np
import pytest
import torch

from recurrente.cli.main import main
from recurrente.errors import UserError
from recurrente.tasks.regress import metrics
from recurrente.tasks.regress.model import SequenceRegressor
from recurrente.tasks.regress.options import RegressorOptions
from recurrente.train.config import TrainConfig

FILLER = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
          "rojo", "verde", "azul", "gato", "perro", "casa", "luna", "sol", "mar", "rio"]
SMALL = ["--hidden", "8", "--max-steps", "2", "--quiet"]  # format and error tests: seconds


def position_rows(n: int, seed: int, lo: int = 5, hi: int = 20):
    """Texts of ``k`` random filler words with "alfa" once, at position ``i``; the target is
    ``i / (k - 1)``, from 0 (first word) to 1 (last). Which words a text holds, and how many,
    say nothing of it; their order says everything."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        k = rng.randint(lo, hi)
        words = [rng.choice(FILLER) for _ in range(k)]
        i = rng.randrange(k)
        words[i] = "alfa"
        rows.append((" ".join(words), round(i / (k - 1), 6)))
    return rows


def write_table(path, rows, header=("text", "target"), delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    return {"train": write_table(folder / "train.csv", position_rows(1000, seed=0)),
            "held": write_table(folder / "held.csv", position_rows(300, seed=1)),
            "small": write_table(folder / "small.csv", position_rows(60, seed=2)),
            "folder": folder}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, files):
    out = tmp_path_factory.mktemp("runs") / "position"
    assert main(["regress", "train", str(files["train"]), "--out", str(out), "--hidden", "32",
                 "--max-steps", "300", "--eval-every", "100", "--lr", "0.01", "--dropout", "0",
                 "--quiet"]) == 0
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


def _json_lines(capsys, argv) -> list:
    capsys.readouterr()
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# ----------------------------------------------------------------------------- (1) it learns

def bag_of_words_r2(train_rows, test_rows) -> float:
    """Held-out R² of least squares on word counts, the length and a bias."""
    words = sorted({w for text, _ in train_rows for w in text.split()})
    index = {w: i for i, w in enumerate(words)}

    def features(rows):
        x = np.zeros((len(rows), len(words) + 2))
        for r, (text, _) in enumerate(rows):
            for w in text.split():
                if w in index:
                    x[r, index[w]] += 1
            x[r, -2], x[r, -1] = len(text.split()), 1.0
        return x, np.array([y for _, y in rows], dtype=np.float64)

    x, y = features(train_rows)
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    xt, yt = features(test_rows)
    return metrics.score(yt, xt @ w)["r2"]


@pytest.mark.slow
def test_learns_a_position_that_a_bag_of_words_and_a_constant_cannot(run_dir, files, capsys):
    result = _json_out(capsys, ["regress", "eval", str(run_dir), "--data", str(files["held"]),
                                "--json"])
    train, held = position_rows(1000, seed=0), position_rows(300, seed=1)
    bow = bag_of_words_r2(train, held)
    gold = np.array([y for _, y in held])
    constant = metrics.score(gold, np.full_like(gold, np.mean([y for _, y in train])))
    assert result["examples"] == 300
    assert result["r2"] >= 0.9 and result["rmse"] <= 0.1, \
        f"recurrent regressor: held-out R² {result['r2']:.3f} (bag of words {bow:.3f})"
    assert bow <= 0.1, f"bag of words: held-out R² {bow:.3f} (regressor {result['r2']:.3f})"
    assert constant["r2"] <= 0.01 and result["rmse"] < constant["rmse"] / 3
    # the baseline is not broken: it fits a number that the word counts do decide
    counted = [(t, t.split().count("uno") - t.split().count("dos")) for t, _ in train]
    assert bag_of_words_r2(counted[:800], counted[800:]) >= 0.99


def test_run_directory_and_summary(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "last", "metrics.jsonl", "vocabs"} <= names
    assert {p.name for p in (run_dir / "vocabs").iterdir()} == {"source.json"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "regress" and config["model"]["class"] == "SequenceRegressor"
    assert (config["data"]["text_column"], config["data"]["label_column"]) == ("text", "target")
    assert config["options"]["label_column"] == "target"  # guessed, saved as filled
    examples = config["data"]["examples"]
    assert examples["train"] + examples["valid"] + examples["test"] == 1000
    assert examples["valid"] == examples["test"] == 50
    target = config["data"]["target"]
    assert config["model"]["target_mean"] == target["mean"]
    assert config["model"]["target_std"] == target["std"]
    assert 0.4 < target["mean"] < 0.6 and 0 <= target["min"] < target["max"] <= 1
    evals = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in l]
    assert [e["step"] for e in evals] == [100, 200, 300]
    assert all({"valid_rmse", "valid_mae", "valid_r2", "valid_pearson", "valid_loss"} <= set(e)
               for e in evals)


# ----------------------------------------------------------------------------- (2) metrics

def test_metrics_by_hand():
    result = metrics.score([1, 2, 3, 4], [1, 2, 3, 5])
    # e = (0, 0, 0, 1): SS_res 1, MSE 1/4, MAE 1/4; ȳ = 2.5, SS_tot = 2.25+0.25+0.25+2.25 = 5
    assert result["mse"] == 0.25 and result["rmse"] == 0.5 and result["mae"] == 0.25
    assert result["r2"] == pytest.approx(1 - 1 / 5)
    # r = cov / (sd_y sd_p): Σ(y-ȳ)(ŷ-ŷ̄) = 2.625+0.375+0.125+3.375 = 6.5,
    # Σ(y-ȳ)² = 5, Σ(ŷ-ŷ̄)² = 3.0625+0.5625+0.0625+5.0625 = 8.75 (ŷ̄ = 2.75)
    assert result["pearson"] == pytest.approx(6.5 / np.sqrt(5 * 8.75))
    assert result["examples"] == 4
    assert metrics.score([1, 2, 3], [1, 2, 3])["r2"] == 1.0
    assert metrics.score([1, 2, 3], [2, 2, 2])["r2"] == 0.0  # the mean: R² 0
    assert metrics.score([1, 2, 3], [3, 2, 1])["pearson"] == pytest.approx(-1)
    assert metrics.score([2, 2], [2, 2])["r2"] == 1.0  # SS_tot = 0: 1 when exact, else 0
    assert metrics.score([2, 2], [1, 3])["r2"] == 0.0
    assert metrics.score([2, 2], [1, 3])["pearson"] == 0.0
    assert metrics.score([], [])["examples"] == 0


def test_metrics_against_numpy_summed_over_batches():
    rng = np.random.default_rng(0)
    y = rng.normal(1e6, 3.0, size=1001)  # far from 0: the shifted sums keep SS_tot exact
    p = y + rng.normal(0.0, 1.5, size=y.size)
    whole = metrics.score(y, p, shift=1e6)
    assert whole["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    assert whole["rmse"] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)), rel=1e-12)
    assert whole["mae"] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-12)
    ss_tot = np.sum((y - y.mean()) ** 2)
    assert whole["r2"] == pytest.approx(1 - np.sum((p - y) ** 2) / ss_tot, rel=1e-9)
    assert whole["pearson"] == pytest.approx(np.corrcoef(y, p)[0, 1], rel=1e-9)
    # sums over unequal batches add to the whole: never an average of batch averages
    cuts = np.split(np.arange(y.size), [7, 300, 301, 800])
    total = metrics.sums(y[cuts[0]], p[cuts[0]], shift=1e6)
    for idx in cuts[1:]:
        total = metrics.add(total, metrics.sums(y[idx], p[idx], shift=1e6))
    batched = metrics.scores(total)
    for key in ("mse", "mae", "r2", "pearson"):
        assert batched[key] == pytest.approx(whole[key], rel=1e-9)
    mean_of_batch_mse = np.mean([np.mean((p[i] - y[i]) ** 2) for i in cuts])
    assert abs(mean_of_batch_mse - whole["mse"]) > 1e-3  # what it would have been otherwise
    with pytest.raises(ValueError):
        metrics.sums([1, 2], [1])


# ----------------------------------------------------------------------------- the model

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru", "minlstm"])
def test_every_cell_the_classifier_takes_builds_trains_and_ignores_padding(cell):
    from recurrente.layers.factory import TASK_CELLS
    assert cell in TASK_CELLS
    model = SequenceRegressor(12, cell=cell, hidden_size=6, pooling="mean", dropout=0.0,
                              target_mean=3.0, target_std=2.0)
    ids = torch.tensor([[2, 3, 4], [5, 6, 0], [7, 0, 0]])  # (T=3, B=3), right-padded
    lengths = torch.tensor([3, 2, 1])
    targets = torch.tensor([1.0, 3.0, 7.0])
    loss, count, state = model.loss((ids, lengths, targets))
    z = model(ids, lengths)
    assert count == 3 and state is None and z.shape == (3,)
    # the loss is the summed squared error in standardised units
    assert loss.item() == pytest.approx(((z - (targets - 3.0) / 2.0) ** 2).sum().item())
    assert torch.allclose(model.values(ids, lengths), z * 2.0 + 3.0)
    loss.backward()
    assert model.head.weight.grad is not None
    with torch.no_grad():  # a sequence in a padded batch scores as it does alone
        alone = model.values(ids[:2, 1:2], lengths[1:2])
    assert torch.allclose(alone, model.values(ids, lengths)[1:2], atol=1e-5)


def test_the_constructor_refuses_a_target_std_of_zero():
    with pytest.raises(ValueError, match="std > 0"):
        SequenceRegressor(5, target_std=0.0)


def test_python_entry_point_and_standardised_targets(files, tmp_path):
    """``train_regressor`` from Python; a target moved to other units (``a y + b``) trains to
    the same standardised model, so its predictions are those of the first, in its units."""
    from recurrente.tasks.regress.task import train_regressor
    rows = position_rows(300, seed=4)
    plain = write_table(tmp_path / "plain.csv", rows)
    scaled = write_table(tmp_path / "scaled.csv", [(t, 3000 * y + 1e6) for t, y in rows])
    made = {}
    for name, path in (("plain", plain), ("scaled", scaled)):
        opts = RegressorOptions(data=str(path), hidden=8, dropout=0.0, implementation="native",
                                train=TrainConfig(max_steps=20, eval_every=10))
        summary = train_regressor(opts, tmp_path / name, progress=False, log=lambda *a: None)
        assert summary["task"] == "regress" and summary["steps"] == 20
        assert {"valid_rmse", "valid_r2", "valid_mae", "valid_pearson"} <= set(summary)
        made[name] = SequenceRegressor.load(tmp_path / name)
    texts = [t for t, _ in position_rows(20, seed=5)]
    a = np.array([e.value for e in made["plain"].predict(texts)])
    b = np.array([e.value for e in made["scaled"].predict(texts)])
    assert made["scaled"].target_std == pytest.approx(3000 * made["plain"].target_std)
    assert np.allclose(b, 3000 * a + 1e6, atol=0.05)  # float32 at 1e6: steps of 0.06


# ----------------------------------------------------------------------------- (3) CLI = Python

def test_eval_from_the_cli_is_the_python_prediction_scored(run_dir, files, capsys):
    import recurrente
    held = position_rows(300, seed=1)
    texts, gold = [t for t, _ in held], np.array([y for _, y in held])
    ours = _json_out(capsys, ["regress", "eval", str(run_dir), "--data", str(files["held"]),
                              "--json"])
    assert set(ours) == {"loss", "mse", "rmse", "mae", "r2", "pearson", "examples"}
    model = recurrente.load(run_dir)
    assert type(model) is SequenceRegressor and not model.training
    predicted = np.array([e.value for e in model.predict(texts)])
    expected = metrics.score(gold, predicted)
    for key in ("mse", "rmse", "mae", "r2", "pearson"):
        assert ours[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), key
    assert ours["loss"] == pytest.approx(expected["mse"] / model.target_std ** 2, rel=1e-9)
    # the top-level command dispatches to the regressor and says the same
    assert _json_out(capsys, ["eval", str(run_dir), "--data", str(files["held"]),
                              "--json"]) == ours
    # the run's own test split, and the plain printout
    own = _json_out(capsys, ["regress", "eval", str(run_dir), "--json"])
    assert own["examples"] == json.loads((run_dir / "config.json").read_text())[
        "data"]["examples"]["test"]
    capsys.readouterr()
    assert main(["regress", "eval", str(run_dir), "--split", "valid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("valid split: 50 texts, loss ") and "R²" in out and "RMSE" in out


def test_predict_from_the_cli_gives_the_python_numbers(run_dir, tmp_path, capsys):
    import recurrente
    texts = [t for t, _ in position_rows(30, seed=5)] + ["alfa uno dos tres", "uno dos alfa",
                                                          "", "¿qué?"]
    first = recurrente.load(run_dir).predict(texts)
    again = SequenceRegressor.load(run_dir).predict(texts)
    assert [e.value for e in first] == [e.value for e in again]
    assert all(isinstance(e.value, float) and e.to_dict() == {"value": e.value} for e in first)
    assert first[30].value < 0.3 and first[31].value > 0.7  # alfa first, alfa last
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n")
    for argv in (["regress", "predict", str(run_dir), str(path), "--json"],
                 ["predict", str(run_dir), str(path), "--json"]):
        lines = _json_lines(capsys, argv)
        assert [line["text"] for line in lines] == texts
        assert [line["value"] for line in lines] == [e.value for e in first]  # one batch: exact
    capsys.readouterr()
    assert main(["regress", "predict", str(run_dir), str(path)]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert len(plain) == len(texts)
    assert np.allclose([float(v) for v in plain], [e.value for e in first], rtol=1e-5)


def test_texts_over_max_len_are_cut_and_said_once(files, tmp_path, capsys):
    out = tmp_path / "short"
    capsys.readouterr()
    assert main(["regress", "train", str(files["small"]), "--out", str(out), "--max-len", "6",
                 *SMALL]) == 0
    assert "texts longer than --max-len 6 tokens are cut" in capsys.readouterr().out
    (tmp_path / "long.txt").write_text("uno " * 30 + "alfa\nalfa\n" + "dos " * 9 + "\n")
    assert main(["regress", "predict", str(out), str(tmp_path / "long.txt")]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("note: texts longer than the run's --max-len 6") == 1
    assert len(captured.out.splitlines()) == 3


def test_tsv_and_jsonl_with_named_columns_and_given_splits(files, tmp_path, capsys):
    rows = position_rows(80, seed=6)
    tsv = write_table(tmp_path / "data.tsv", [(y, t) for t, y in rows],
                      header=("segundos", "frase"), delimiter="\t")
    assert "--text-column" in _error(capsys, ["regress", "train", str(tsv), "--out",
                                              str(tmp_path / "no"), *SMALL])
    valid = write_table(tmp_path / "valid.tsv", [(y, t) for t, y in position_rows(60, seed=2)],
                        header=("segundos", "frase"), delimiter="\t")
    out = tmp_path / "tsv"
    assert main(["regress", "train", str(tsv), "--out", str(out), "--text-column", "frase",
                 "--label-column", "segundos", "--valid", str(valid), *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["sources"]["train"]["kind"] == "tsv"
    assert config["data"]["examples"]["valid"] == 60  # the given file, whole
    assert config["data"]["examples"]["train"] + config["data"]["examples"]["test"] == 80
    # JSON Lines: integer numbers (a star rating) and numbers as strings are read
    jsonl = tmp_path / "stars.jsonl"
    jsonl.write_text("".join(json.dumps({"review": t, "stars": i % 5 + 1 if i % 2 else
                                         str(i % 5 + 1)}) + "\n"
                             for i, (t, _) in enumerate(rows)))
    assert main(["regress", "train", str(jsonl), "--out", str(tmp_path / "jsonl"),
                 "--label-column", "stars", *SMALL]) == 0
    target = json.loads((tmp_path / "jsonl" / "config.json").read_text())["data"]["target"]
    assert (target["min"], target["max"]) == (1.0, 5.0)


def test_jsonl_with_fractional_numbers(tmp_path):
    from recurrente.tasks.regress.data import read_numbered
    path = tmp_path / "ratings.jsonl"
    path.write_text('{"text": "muy buena", "target": 4.5}\n{"text": "mala", "target": 1}\n')
    assert list(read_numbered(path).targets) == [4.5, 1.0]


# ----------------------------------------------------------------------------- (4) save / load

def test_save_and_load_round_trip(run_dir, tmp_path):
    from recurrente.tasks.classify.model import SequenceClassifier
    model = SequenceRegressor.load(run_dir)
    texts = [t for t, _ in position_rows(20, seed=7)]
    before = [e.value for e in model.predict(texts)]
    model.save(tmp_path / "saved")
    again = SequenceRegressor.load(tmp_path / "saved")
    assert again.config() == model.config() and again.max_len == model.max_len == 400
    assert again.vocabs["source"].itos == model.vocabs["source"].itos
    assert (again.target_mean, again.target_std) == (model.target_mean, model.target_std)
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    assert [e.value for e in again.predict(texts)] == before
    with pytest.raises(UserError, match="holds a SequenceRegressor, not a SequenceClassifier"):
        SequenceClassifier.load(run_dir)


def test_resume_keeps_the_target_scale(run_dir, files, tmp_path, capsys):
    out = tmp_path / "resumed"
    shutil.copytree(run_dir, out)
    before = json.loads((out / "config.json").read_text())["model"]
    capsys.readouterr()
    assert main(["regress", "train", str(files["train"]), "--out", str(out), "--resume",
                 "--max-steps", "310", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == before and config["options"]["train"]["max_steps"] == 310
    state = torch.load(out / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 310
    assert "--hidden 9 differs from the run's 32" in _error(capsys, [
        "regress", "train", str(files["train"]), "--out", str(out), "--resume", "--hidden", "9",
        "--quiet"])


# ----------------------------------------------------------------------------- (5) serve

def _post(url: str, body: dict, timeout: float = 10) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def test_serve_answers_the_regress_endpoint_with_the_model_s_numbers(run_dir, monkeypatch,
                                                                     capsys):
    """``recurrente serve RUN`` as the command builds it, on a real loopback socket in this
    process, every call under a time bound."""
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from recurrente.serve.background import serving
    texts = ["uno alfa dos tres cuatro", "alfa cinco", "seis siete ocho alfa", ""]
    expected = [e.value for e in SequenceRegressor.load(run_dir).predict(texts)]
    seen = {}

    def run_here(app, host, port, **kw):
        started = time.monotonic()
        with serving(app, host=host) as url:
            name = run_dir.name
            seen["models"] = json.loads(_get(url + "/v1/models"))
            seen["many"] = _post(f"{url}/v1/models/{name}/regress", {"texts": texts})
            seen["one"] = _post(f"{url}/v1/models/{name}/regress", {"text": texts[0]})
            seen["page"] = _get(url + "/")
            for path, body in ((f"/v1/models/{name}/regress", {"texts": []}),
                               (f"/v1/models/{name}/regress", {"text": 5}),
                               (f"/v1/models/{name}/classify", {"text": "a"})):
                try:
                    _post(url + path, body)
                except urllib.error.HTTPError as e:
                    seen.setdefault("errors", []).append((e.code, json.loads(e.read())))
        seen["seconds"] = time.monotonic() - started
    monkeypatch.setattr(uvicorn, "run", run_here)
    assert main(["serve", str(run_dir), "--port", "0"]) == 0
    assert seen["seconds"] < 30
    listing = {m["name"]: m for m in seen["models"]["models"]}[run_dir.name]
    assert listing["task"] == "regress" and listing["endpoints"] == ["regress"]
    assert listing["target"]["column"] == "target"
    assert seen["many"]["model"] == run_dir.name
    assert [r["value"] for r in seen["many"]["results"]] == expected
    assert seen["one"]["results"] == [{"value": expected[0]}]
    assert 'builders["regress"] = ' in seen["page"] and ".estimate .value" in seen["page"]
    statuses = [code for code, _ in seen["errors"]]
    assert statuses == [422, 422, 404]
    for _, body in seen["errors"]:
        assert list(body) == ["error"] and "\n" not in body["error"]
    assert "it answers regress, not 'classify'" in seen["errors"][2][1]["error"]


# ----------------------------------------------------------------------------- (6) export

def test_export_passes_its_parity_check_and_runs_alone(run_dir, files, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    from recurrente.data.padded import pad
    from recurrente.data.vocab import load_vocab
    from recurrente.export.onnx import TOLERANCE
    from recurrente.tasks.regress.data import encode_texts
    out = tmp_path / "onnx"
    capsys.readouterr()
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    assert "regressor.onnx: onnxruntime vs PyTorch, max abs difference" in \
        capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["task"] == "regress" and set(manifest["graphs"]) == {"regressor"}
    graph = manifest["graphs"]["regressor"]
    assert graph["max_abs_diff"] <= TOLERANCE
    assert [o["name"] for o in graph["outputs"]] == ["value"]
    model = SequenceRegressor.load(run_dir)
    assert manifest["target"] == {"column": "target", "mean": model.target_mean,
                                  "std": model.target_std}
    # the graph and the exported vocabulary alone give the model's numbers
    texts = [t for t, _ in position_rows(8, seed=8)]
    source = load_vocab(out / "vocabs" / "source.json")
    ids, lengths = pad(encode_texts(texts, source, manifest["max_len"]), manifest["pad_id"])
    session = ort.InferenceSession(str(out / "regressor.onnx"))
    (values,) = session.run(None, {"ids": ids.numpy(), "lengths": lengths.numpy()})
    assert np.allclose(values, [e.value for e in model.predict(texts)], atol=1e-5)
    # another cell, one direction, the last state pooled
    other = tmp_path / "gru"
    assert main(["regress", "train", str(files["small"]), "--out", str(other), "--cell", "gru",
                 "--unidirectional", "--pooling", "last", *SMALL]) == 0
    assert main(["export", str(other), "--out", str(tmp_path / "gru-onnx")]) == 0


# ----------------------------------------------------------------------------- (7) bad input

def test_bad_inputs_get_one_sentence_and_write_nothing(files, tmp_path, capsys):
    out = tmp_path / "refused"

    def refused(*argv, data=None) -> str:
        err = _error(capsys, ["regress", "train", str(data or files["small"]), "--out",
                              str(out), *SMALL, *argv])
        assert not out.exists(), argv
        return err

    rows = position_rows(10, seed=9)
    words = write_table(tmp_path / "words.csv", rows[:2] + [(rows[2][0], "muy bien")] + rows[3:])
    err = refused(data=words)
    assert "row 3 of" in err and "words.csv" in err and "'target'" in err and \
        "'muy bien'" in err and "finite number" in err
    for bad in ("nan", "inf", "-Infinity"):
        table = write_table(tmp_path / "bad.csv", rows[:5] + [(rows[5][0], bad)])
        assert f"row 6 of {table} (after the header) has {bad!r}" in refused(data=table)
    empty = write_table(tmp_path / "empty.csv", rows[:5] + [(rows[5][0], " ")])
    assert "empty label" in refused(data=empty)  # formats' sentence, before any number
    assert "label column 'stars' is not in" in refused("--label-column", "stars")
    no_numbers = write_table(tmp_path / "scores.csv", rows, header=("text", "puntos"))
    assert "pass --label-column NAME" in refused(data=no_numbers)
    assert "--hidden" in refused("--hidden", "0")
    assert "--pooling" in refused("--pooling", "median")
    assert "--cell" in refused("--cell", "transformer")
    assert "is a folder" in refused(data=files["folder"])
    assert "not found" in refused(data=tmp_path / "missing.csv")
    assert "too few" in refused(data=write_table(tmp_path / "two.csv", rows[:2]))
    assert "expected DATA" in _error(capsys, ["regress", "train", "--out", str(out), *SMALL])


def test_eval_and_predict_refusals(run_dir, tmp_path, capsys):
    rows = position_rows(5, seed=10)
    bad = write_table(tmp_path / "bad.csv", rows[:1] + [(rows[1][0], "x")])
    assert "row 2 of" in _error(capsys, ["regress", "eval", str(run_dir), "--data", str(bad)])
    assert "is not a recurrente run" in _error(capsys, ["regress", "eval", str(tmp_path)])
    assert "not found" in _error(capsys, ["regress", "predict", str(run_dir),
                                          str(tmp_path / "none.txt")])
    assert "--batch-size" in _error(capsys, ["regress", "predict", str(run_dir),
                                             "--batch-size", "0"])


@pytest.mark.slow
def test_the_page_panel_shows_the_model_s_number(run_dir):
    """The regressor's panel (panel.js) in a real headless Chromium: a sentence in, the
    endpoint's number out."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from tests.cdp import Browser, chromium_path
    if chromium_path() is None:
        pytest.skip("no Chromium (apt-get install -y chromium); cannot check the page")
    from recurrente.serve.app import create_app
    from recurrente.serve.background import serving
    from recurrente.serve.predictors import load_predictors
    sentence = "uno dos alfa tres cuatro cinco"
    expected = SequenceRegressor.load(run_dir).predict([sentence])[0].value
    predictors = load_predictors([run_dir], log=lambda *a: None)
    with serving(create_app(predictors)) as url, Browser.launch() as browser:
        page = browser.page()
        page.goto(url + "/")
        page.wait_for("document.getElementById('panels').dataset.loaded === '1'")
        assert page.evaluate("[...document.querySelectorAll('.panel')].map(p => p.dataset.task)"
                             ) == ["regress"]
        page.type("[data-task=regress] input.input", sentence)
        page.click("[data-task=regress] button.run")
        shown = page.wait_for("document.querySelector('[data-task=regress] .estimate')"
                              ".dataset.value")
        assert float(shown) == expected
        shown = page.text("[data-task=regress] .estimate .value")  # four significant digits
        assert float(shown) == pytest.approx(expected, rel=1e-3, abs=1e-4)
