"""The translator end to end: train, eval and predict from the command line and from Python,
identical translations after save and load and whatever the batch, a held-out split saved with
the run and disjoint from training, and every bad input's one-sentence error."""

import json
import shutil
import sys

import pytest

from recurrente.cli.main import main
from recurrente.tasks.seq2seq.model import Seq2Seq
from tests.translate_fixtures import reverse_pairs, write_tsv
from tests.results import texts

TRAIN = ["--cell", "gru", "--hidden", "64", "--attention", "additive", "--dropout", "0",
         "--label-smoothing", "0", "--batch-size", "32", "--lr", "0.005", "--quiet"]
HELD = [s for s, _ in reverse_pairs(40, seed=5, low=2, high=9)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("translate")


@pytest.fixture(scope="module")
def pairs(folder):
    data = reverse_pairs(1500, seed=0, low=2, high=9)
    return write_tsv(folder / "pairs.tsv", data + data[:50], extra=True)  # 50 exact repeats


@pytest.fixture(scope="module")
def run_dir(folder, pairs):
    out = folder / "run"
    assert main(["translate", "train", str(pairs), "--out", str(out), *TRAIN,
                 "--max-steps", "400", "--eval-every", "200"]) == 0
    return out


def _error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, (code, captured.out, err)
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _out(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_it_learns_and_eval_scores_greedy_and_beam(run_dir, capsys):
    result = json.loads(_out(capsys, ["translate", "eval", str(run_dir), "--json"])
                        .strip().splitlines()[-1])
    assert result["split"] == "test" and result["pairs"] >= 70
    for decoding in ("greedy", "beam 5"):
        assert result[decoding]["bleu"] > 90 and result[decoding]["exact"] > 0.8, result
    text = _out(capsys, ["eval", str(run_dir)])  # the top-level command dispatches here
    assert "test split:" in text and "greedy" in text and "beam 5" in text
    assert "BLEU" in text and "chrF" in text


def test_held_out_split_is_saved_and_never_trained_on(run_dir, pairs):
    from recurrente.data.parallel import read_tsv_pairs
    from recurrente.tasks.seq2seq.data import SPLITS_DIR
    held = {n: read_tsv_pairs(run_dir / SPLITS_DIR / f"{n}.tsv").pairs for n in ("valid", "test")}
    data = read_tsv_pairs(pairs).pairs
    config = json.loads((run_dir / "config.json").read_text())
    counts = config["data"]["pairs"]
    assert counts["valid"] == len(held["valid"]) and counts["test"] == len(held["test"])
    trained = [p for p in data if p not in set(held["valid"]) | set(held["test"])]
    assert counts["train"] == len(trained) and len(trained) + sum(map(len, held.values())) \
        >= len(set(data))
    assert not set(held["valid"]) & set(held["test"])


def test_predict_cli_api_and_save_load_agree(run_dir, folder, capsys):
    inputs = folder / "inputs.txt"
    inputs.write_text("\n".join(HELD) + "\n")
    cli = _out(capsys, ["translate", "predict", str(run_dir), str(inputs)]).splitlines()
    assert _out(capsys, ["predict", str(run_dir), str(inputs)]).splitlines() == cli
    model = Seq2Seq.load(run_dir)
    assert texts(model.translate(HELD)) == cli
    right = sum(t == " ".join(reversed(s.split())) for s, t in zip(HELD, cli))
    assert right >= 0.8 * len(HELD), list(zip(HELD, cli))[:5]
    copy = folder / "saved"
    model.save(copy)
    again = Seq2Seq.load(copy)
    assert texts(again.translate(HELD)) == cli
    assert again.translate(HELD, beam=4, nbest=2) == model.translate(HELD, beam=4, nbest=2)


def test_a_translation_does_not_depend_on_its_batch(run_dir):
    model = Seq2Seq.load(run_dir)
    for beam in (1, 4):
        alone = [model.translate([s], beam=beam)[0].text for s in HELD[:12]]
        for batch_size in (3, 64):
            assert texts(model.translate(HELD[:12], beam=beam, batch_size=batch_size)) == alone
        reordered = texts(model.translate(HELD[:12][::-1] + HELD[12:], beam=beam))
        assert reordered[:12][::-1] == alone


def test_predict_options_json_nbest_sampling_and_attention(run_dir, folder, capsys):
    inputs = folder / "few.txt"
    inputs.write_text("a b c d\tignored target\n\nl k\n")
    lines = _out(capsys, ["translate", "predict", str(run_dir), str(inputs), "--beam", "4",
                          "--nbest", "3", "--json", "--attention",
                          str(folder / "att.png")]).splitlines()
    first = json.loads(lines[0])
    assert first["source"] == "a b c d" and len(first["nbest"]) == 3
    scores = [h["score"] for h in first["nbest"]]
    assert scores == sorted(scores, reverse=True)
    assert json.loads(lines[1])["translation"] == ""
    assert (folder / "att.png").stat().st_size > 1000
    sampled = [_out(capsys, ["translate", "predict", str(run_dir), str(inputs), "--sample",
                             "--temperature", "1.5", "--seed", "3"]) for _ in range(2)]
    assert sampled[0] == sampled[1]


@pytest.fixture(scope="module")
def char_run(folder):
    pairs = write_tsv(folder / "chars.tsv", [(s.replace(" ", ""), t.replace(" ", ""))
                                             for s, t in reverse_pairs(200, seed=1)])
    out = folder / "char"
    assert main(["translate", "train", str(pairs), "--out", str(out), "--tokenizer", "char",
                 "--max-len", "10", *TRAIN, "--max-steps", "2"]) == 0
    return out


def test_bad_input_is_one_sentence(run_dir, char_run, folder, capsys, monkeypatch):
    bad = folder / "bad.tsv"
    bad.write_text("a b\tb a\nsin tabulador\n")
    err = _error(capsys, ["translate", "train", str(bad), "--out", str(folder / "x1")])
    assert "line 2 of" in err and "no tab" in err
    bad.write_text("a b\tb a\nc d\t \n")
    err = _error(capsys, ["translate", "train", str(bad), "--out", str(folder / "x2")])
    assert "line 2 of" in err and "empty target" in err
    inputs = folder / "unseen.txt"
    inputs.write_text("abc\nabжc\n")
    err = _error(capsys, ["translate", "predict", str(char_run), str(inputs)])
    assert "line 2" in err and "'ж'" in err and "never had" in err
    inputs.write_text("abcdefghijkl\n")  # 12 characters, the run's --max-len is 10
    err = _error(capsys, ["translate", "predict", str(char_run), str(inputs)])
    assert "line 1 has 12 tokens" in err and "--max-len" in err
    assert _out(capsys, ["translate", "predict", str(char_run), str(inputs), "--max-len",
                         "12"]).count("\n") == 1
    for argv, words in ((["--beam", "0"], "--beam: expected an integer from 1"),
                        (["--nbest", "2"], "--nbest"),
                        (["--sample", "--beam", "2"], "--sample"),
                        (["--sample", "--top-p", "2"], "top")):
        assert words in _error(capsys, ["translate", "predict", str(run_dir), str(inputs),
                                        *argv])
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    err = _error(capsys, ["translate", "eval", str(run_dir)])
    assert "recurrente[translate]" in err


def test_train_data_errors(pairs, folder, capsys):
    out = str(folder / "never")
    for argv, words in (([str(pairs), "--source", str(pairs)], "either DATA"),
                        ([], "expected DATA"),
                        ([str(pairs), "--attention", "bahdanau"], "--attention"),
                        ([str(pairs), "--scheduled-sampling", "exponential"], "--sampling-k"),
                        ([str(pairs), "--sampling-k", "0.5"], "--scheduled-sampling"),
                        ([str(pairs), "--scheduled-sampling", "exponential", "--sampling-k",
                          "2"], "--sampling-k: expected k in (0, 1)"),
                        ([str(pairs), "--teacher-forcing", "0.5", "--scheduled-sampling",
                          "linear"], "either --teacher-forcing"),
                        ([str(pairs), "--hidden", "33"], "even --hidden"),
                        ([str(pairs), "--max-len", "1"], "every training pair")):
        assert words in _error(capsys, ["translate", "train", *argv, "--out", out])
    assert not (folder / "never").exists()


def test_aligned_files_reverse_and_eval_data(run_dir, folder, capsys):
    data = reverse_pairs(60, seed=9, low=2, high=5)
    (folder / "src.txt").write_text("\n".join(t for _, t in data) + "\n")
    (folder / "tgt.txt").write_text("\n".join(s for s, _ in data) + "\n")
    out = folder / "aligned"
    assert main(["translate", "train", "--source", str(folder / "tgt.txt"), "--target",
                 str(folder / "src.txt"), "--reverse", "--out", str(out), *TRAIN,
                 "--max-steps", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["sources"]["train"]["reversed"] is True
    held = write_tsv(folder / "held.tsv", data[:10])
    result = json.loads(_out(capsys, ["translate", "eval", str(run_dir), "--data", str(held),
                                      "--beam", "1", "--json", "--output",
                                      str(folder / "hyp.txt")]).splitlines()[-1])
    assert result["pairs"] == 10 and "beam 1" not in result and result["greedy"]["bleu"] > 50
    assert len((folder / "hyp.txt").read_text().splitlines()) == 10


def test_resume_continues_and_keeps_the_splits(run_dir, pairs, folder, capsys):
    out = folder / "resumed"
    shutil.copytree(run_dir, out)
    before = (out / "splits" / "test.tsv").read_text()
    log = _out(capsys, ["translate", "train", str(pairs), "--out", str(out), "--resume",
                        "--max-steps", "402", "--quiet"])
    assert "training pairs repeat an earlier pair exactly" in log
    assert "trained 402 steps" in log
    assert (out / "splits" / "test.tsv").read_text() == before
