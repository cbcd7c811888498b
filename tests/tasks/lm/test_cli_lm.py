"""``recurrente train / eval / sample`` end to end, and every bad input's one-sentence error."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from recurrente.cli.main import main
from tests.lm_fixtures import word_corpus

TINY = ["--preset", "tiny", "--seq-len", "16", "--batch-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "words.txt"
    path.write_text(word_corpus(4000))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", str(corpus), "--out", str(out), *TINY, "--max-steps", "40",
                 "--eval-every", "20"]) == 0
    return out


def test_train_writes_a_complete_run(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "vocabs", "metrics.jsonl", "last"} <= names
    assert (run_dir / "vocabs" / "source.json").exists()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["cell"] == "lstm" and config["data"]["split_kind"] == "contiguous"
    evals = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in l]
    assert [e["step"] for e in evals] == [20, 40]


def test_eval_json_last_line(run_dir, capsys):
    assert main(["eval", str(run_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("loss", "perplexity", "tokens", "unknown_tokens", "bits_per_char"):
        assert key in result
    assert result["tokens"] > 1000 and result["unknown_tokens"] == 0


def test_eval_text_counts_unknown_tokens(run_dir, tmp_path, capsys):
    text = tmp_path / "other.txt"
    text.write_text("gato perro 123 casa\n")
    assert main(["eval", str(run_dir), "--text", str(text), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["unknown_tokens"] == 3 and result["tokens"] == len("gato perro 123 casa\n") - 1


def test_eval_says_when_the_corpus_is_gone(tmp_path, corpus, capsys):
    moved = tmp_path / "c.txt"
    moved.write_text(corpus.read_text())
    out = tmp_path / "run"
    assert main(["train", str(moved), "--out", str(out), *TINY, "--max-steps", "4"]) == 0
    moved.unlink()
    capsys.readouterr()
    assert main(["eval", str(out)]) == 2
    assert "cannot be read any more" in capsys.readouterr().err


def test_sample_streams_prime_then_continuation(run_dir, capsys):
    assert main(["sample", str(run_dir), "--prime", "gato", "-n", "20", "--seed", "1"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("gato") and len(first.rstrip("\n")) >= 4 + 15
    main(["sample", str(run_dir), "--prime", "gato", "-n", "20", "--seed", "1"])
    assert capsys.readouterr().out == first
    assert main(["sample", str(run_dir), "-n", "5", "--num-samples", "3", "--seed", "2"]) == 0
    assert capsys.readouterr().out.count("--- sample") == 3


def _error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_bad_corpora(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert "not found" in _error(capsys, ["train", str(tmp_path / "missing.txt"), "--out", out])
    (tmp_path / "empty.txt").write_text("  \n")
    assert "empty" in _error(capsys, ["train", str(tmp_path / "empty.txt"), "--out", out])
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary" * 10)
    assert "binary" in _error(capsys, ["train", str(tmp_path / "bin.txt"), "--out", out])
    (tmp_path / "latin.txt").write_bytes("año señor ".encode("latin-1") * 500)
    assert "--encoding" in _error(capsys, ["train", str(tmp_path / "latin.txt"), "--out", out])
    (tmp_path / "short.txt").write_text("corto " * 20)
    assert "--seq-len" in _error(capsys, ["train", str(tmp_path / "short.txt"), "--out", out,
                                          *TINY])
    assert "unknown preset" in _error(capsys, ["train", "--preset", "nope", "--out", out])


def test_latin1_corpus_trains_with_encoding(tmp_path):
    (tmp_path / "latin.txt").write_bytes(("año señor " * 8 + "\n").encode("latin-1") * 200)
    assert main(["train", str(tmp_path / "latin.txt"), "--encoding", "latin-1", "--out",
                 str(tmp_path / "r"), *TINY, "--max-steps", "2"]) == 0


def test_bad_runs_and_options(run_dir, tmp_path, capsys, corpus):
    assert "not a recurrente run" in _error(capsys, ["eval", str(tmp_path)])
    assert "not a directory" in _error(capsys, ["sample", str(tmp_path / "nope")])
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocabs/source.json"):
        (broken / name).parent.mkdir(exist_ok=True)
        (broken / name).write_text((run_dir / name).read_text())
    (broken / "model.safetensors").write_bytes((run_dir / "model.safetensors").read_bytes()[:200])
    assert "corrupted" in _error(capsys, ["eval", str(broken)])
    assert "-n: expected an integer from 0" in _error(capsys, ["sample", str(run_dir), "-n", "-3"])
    assert "temperature" in _error(capsys, ["sample", str(run_dir), "--temperature", "-1"])
    assert "top-p" in _error(capsys, ["sample", str(run_dir), "--top-p", "1.5"])
    assert "top-p" in _error(capsys, ["sample", str(run_dir), "--top-p", "0"])
    assert "'z'" in _error(capsys, ["sample", str(run_dir), "--prime", "zzz"])
    assert "already holds a run" in _error(capsys, ["train", str(corpus), "--out", str(run_dir)])


def test_resume_refuses_other_corpus_or_tokenizer(run_dir, tmp_path, capsys, corpus):
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text().replace("gato", "gata"))
    assert "CORPUS" in _error(capsys, ["train", str(other), "--out", str(run_dir),
                                       "--resume", *TINY])
    assert "--tokenizer" in _error(capsys, ["train", str(corpus), "--out", str(run_dir),
                                            "--resume", "--tokenizer", "word", *TINY])


def _train_cmd(corpus, out, *extra):
    return [sys.executable, "-m", "recurrente.cli.main", "train", str(corpus), "--out", str(out),
            "--preset", "tiny", "--quiet", "--dropout", "0.2", "--layers", "2", "--max-steps", "120",
            "--eval-every", "10", "--seed", "3", *extra]


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, corpus):
    """Kill -9 mid-run, --resume: the run completes and its final weights are bit-identical."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[3])}
    whole = tmp_path / "whole"
    subprocess.run(_train_cmd(corpus, whole), env=env, check=True, capture_output=True)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(_train_cmd(corpus, cut), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    state = cut / "last" / "trainer_state.pt"
    while time.time() < deadline and not (state.exists() and _step(cut) >= 30):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 30 <= _step(cut) < 120, "the kill must land mid-run"
    subprocess.run(_train_cmd(corpus, cut, "--resume"), env=env, check=True, capture_output=True)
    a = load_file(whole / "last" / "model.safetensors")
    b = load_file(cut / "last" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a)


def _step(run: Path) -> int:
    import torch
    try:
        return torch.load(run / "last" / "trainer_state.pt", weights_only=True)["progress"]["step"]
    except Exception:
        return -1


@pytest.mark.slow
def test_ctrl_c_checkpoints_and_resume_finishes(tmp_path, corpus):
    """SIGINT ends the current step, saves the checkpoint, exits 130; --resume completes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[3])}
    out = tmp_path / "run"
    cmd = _train_cmd(corpus, out)
    cmd[cmd.index("--max-steps") + 1] = "100000"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and _step(out) < 20:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"--resume" in stdout and b"Traceback" not in stderr
    stopped = _step(out)
    assert stopped >= 20
    cmd[cmd.index("--max-steps") + 1] = str(stopped + 5)
    subprocess.run(cmd + ["--resume"], env=env, check=True, capture_output=True)
    assert _step(out) == stopped + 5


def test_resume_uses_the_runs_own_options(tmp_path, corpus):
    """--resume alone continues with the preset, seed and limits the run was started with."""
    out = tmp_path / "run"
    assert main(["train", str(corpus), "--out", str(out), *TINY, "--max-steps", "6",
                 "--seed", "4"]) == 0
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "9", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["seq_len"] == 16 and config["options"]["train"]["seed"] == 4
    import torch
    state = torch.load(out / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 9 and state["config"]["seed"] == 4


def test_bad_training_options(tmp_path, corpus, capsys):
    out = str(tmp_path / "r")
    for flags, message in [(["--clip", "-1"], "--clip: expected a finite number >= 0"),
                           (["--eval-every", "0"], "--eval-every: expected an integer from 1"),
                           (["--weight-decay", "-1"], "--weight-decay: expected a finite number"),
                           (["--hidden", "0"], "--hidden: expected an integer from 1 to 8192"),
                           (["--cell", "lstmx"], "cell"),
                           (["--partition", "zigzag"], "zigzag"), (["--dropout", "1.5"], "dropout")]:
        assert message in _error(capsys, ["train", str(corpus), "--out", out, *TINY, *flags])
    (tmp_path / "file").write_text("x")
    assert "error" in _error(capsys, ["train", str(corpus), "--out", str(tmp_path / "file" / "r"),
                                      *TINY, "--max-steps", "1"])
