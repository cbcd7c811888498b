"""Data-parallel training, tested with 2 processes on CPU (gloo on 127.0.0.1), and mixed precision.

Two processes must train exactly what one process trains on the same global batch (the language
model with its streams split and the state carried; the classifier with its length buckets dealt
out, a last batch smaller than the world included); a SIGKILL of the whole job, then --resume,
must end on the weights of an uninterrupted run (and a resume on one process continues the same
run); a rank killed alone must stop the other with one sentence and a loadable checkpoint; two
torchrun "nodes" meeting by a c10d rendezvous must train and checkpoint. CUDA and NCCL are not
exercised here (no GPU on CI): the same code runs them, see train/distributed.py.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from recurrente.cli.main import main
from recurrente.data.batching import Batches
from recurrente.data.padded import BucketBatches
from recurrente.errors import UserError
from recurrente.train.distributed import rank_state
from recurrente.train.precision import _onednn_bf16
from recurrente.train.shards import Padding, shard
from tests.lm_fixtures import word_corpus
from tests.classify_fixtures import order_examples, write_csv

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RECURRENTE_DIST_TIMEOUT": "60",
       "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
LM = ["--preset", "tiny", "--hidden", "16", "--seq-len", "16", "--batch-size", "8",
      "--seed", "3", "--eval-every", "10", "--quiet"]
LM_STEPS = 120
CLS = ["--hidden", "8", "--dropout", "0", "--batch-size", "8", "--max-steps", "16",
       "--eval-every", "8", "--quiet"]


def recurrente(*argv, nproc=2):
    return [sys.executable, "-m", "recurrente", *map(str, argv), "--nproc", str(nproc)]


def run(argv, timeout=120):
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def weights(out: Path) -> dict:
    return load_file(out / "last" / "model.safetensors")


def assert_close(a: dict, b: dict, tol=1e-5):
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst <= tol, worst


def step_of(out: Path) -> int:
    try:
        return torch.load(out / "last" / "trainer_state.pt", weights_only=True)["progress"]["step"]
    except Exception:  # not written yet, or being swapped in
        return -1


def descendants(pid: int) -> list:
    """Every process below ``pid`` (torchrun's workers run in sessions of their own)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def rank_of(pid: int):
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [e[5:] for e in env if e.startswith(b"RANK=")]
    return int(ranks[0]) if ranks else None


def wait_for_step(out: Path, proc, at_least: int, deadline=60.0):
    end = time.time() + deadline
    while time.time() < end and step_of(out) < at_least and proc.poll() is None:
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("dist")


@pytest.fixture(scope="module")
def corpus(folder):
    path = folder / "words.txt"
    path.write_text(word_corpus(3000))
    return path


@pytest.fixture(scope="module")
def lm_two(folder, corpus):
    """An uninterrupted 2-process language-model run."""
    out = folder / "lm-two"
    run(recurrente("train", corpus, "--out", out, *LM, "--max-steps", LM_STEPS))
    return out


# ----------------------------------------------------------------------------- shards


def test_column_shards_put_the_global_batch_back_together():
    batches = Batches(np.arange(3000), "sequential", batch_size=8, seq_len=10, seed=1)
    parts = [list(shard(batches, r, 2).epoch(0, start=3)) for r in range(2)]
    for whole, a, b in zip(batches.epoch(0, start=3), *parts):
        assert torch.equal(torch.cat([a[0], b[0]], dim=1), whole[0])
        assert torch.equal(torch.cat([a[1], b[1]], dim=1), whole[1])
    assert len(shard(batches, 1, 2)) == len(batches)
    with pytest.raises(UserError, match="--batch-size 8 does not split evenly across 3"):
        shard(batches, 0, 3)


def test_index_shards_deal_every_example_once_and_pad_a_short_last_batch():
    batches = BucketBatches(lengths=np.arange(1, 10), collate=lambda idx: list(idx),
                            batch_size=4, seed=0)  # 9 examples: batches of 4, 4 and 1
    order = batches.order(2)
    parts = [list(shard(batches, r, 2).epoch(2)) for r in range(2)]
    for indices, a, b in zip(order, *parts):
        if len(indices) == 1:  # rank 1 has nothing: a zero-weight copy of rank 0's example
            assert isinstance(b, Padding) and b[0] == list(indices) == a
        else:
            assert sorted(a + b) == sorted(indices.tolist()) and abs(len(a) - len(b)) <= 1


def test_a_checkpoint_of_two_ranks_resumes_on_one_and_on_four():
    h = torch.arange(2 * 8 * 3, dtype=torch.float32).reshape(2, 8, 3)  # (L, B, H)
    state = {"rng": "r0", "carry": [h[:, :4], -h[:, :4]], "config": {"seed": 0},
             "ranks": [{"rng": "r0", "carry": [h[:, :4], -h[:, :4]]},
                       {"rng": "r1", "carry": [h[:, 4:], -h[:, 4:]]}]}
    assert rank_state(state, 1, 2)["rng"] == "r1"
    one = rank_state(state, 0, 1, notes := [])
    assert torch.equal(one["carry"][0], h) and torch.equal(one["carry"][1], -h)
    assert one["rng"] == "r0" and "2 processes with 1" in notes[0]
    four = [rank_state(state, r, 4) for r in range(4)]
    assert torch.equal(torch.cat([s["carry"][0] for s in four], dim=1), h)
    assert four[1]["rng"] == "r1" and isinstance(four[3]["rng"]["torch"], torch.Tensor)


# ----------------------------------------------------------------------------- equality


@pytest.mark.slow
def test_two_processes_train_the_language_model_of_one(lm_two, corpus, tmp_path):
    one = tmp_path / "one"
    assert main(["train", str(corpus), "--out", str(one), *LM, "--max-steps", str(LM_STEPS)]) == 0
    assert_close(weights(one), weights(lm_two))
    a, b = (torch.load(o / "last" / "trainer_state.pt", weights_only=True) for o in (one, lm_two))
    assert b["world_size"] == 2 and len(b["ranks"]) == 2
    assert a["progress"]["tokens"] == b["progress"]["tokens"]  # counts reduced as sums
    # the carried state of the streams is each rank's half of the one-process state
    carried = torch.cat([r["carry"][0] for r in b["ranks"]], dim=1)
    assert torch.allclose(carried, a["carry"][0], atol=1e-5)
    assert a["progress"]["history"][-1]["valid_loss"] == \
        pytest.approx(b["progress"]["history"][-1]["valid_loss"], abs=1e-5)
    lines = [json.loads(x) for x in (lm_two / "metrics.jsonl").read_text().splitlines()]
    assert sum(x.get("kind") == "eval" for x in lines) == LM_STEPS // 10  # rank 0 alone logs


@pytest.mark.slow
def test_two_processes_train_the_classifier_of_one(folder, tmp_path):
    # 121 training sentences in batches of 8: the last one holds 1 sentence for 2 processes
    data = [write_csv(folder / f"{name}.csv", order_examples(n, seed=s))
            for name, n, s in (("train", 121, 0), ("valid", 30, 1), ("test", 10, 2))]
    argv = ["classify", "train", data[0], "--valid", data[1], "--test", data[2], *CLS]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([str(a) for a in argv] + ["--out", str(one)]) == 0
    run(recurrente(*argv, "--out", two))
    assert_close(weights(one), weights(two))
    state = torch.load(two / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["batch"] == 16  # the whole epoch ran, its short batch included


# ----------------------------------------------------------------------------- failures


@pytest.mark.slow
def test_sigkill_of_the_whole_job_then_resume_equals_uninterrupted(lm_two, corpus, tmp_path):
    cut = tmp_path / "cut"
    argv = recurrente("train", corpus, "--out", cut, *LM, "--max-steps", LM_STEPS)
    proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_step(cut, proc, 20)
    for pid in [proc.pid, *descendants(proc.pid)]:
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    assert 20 <= step_of(cut) < LM_STEPS, "the kill must land mid-run"
    other = tmp_path / "other"  # the same checkpoint, resumed on 1 process below
    shutil.copytree(cut, other)
    run(recurrente("train", corpus, "--out", cut, "--resume", "--quiet"))
    assert_close(weights(cut), weights(lm_two), tol=0.0)  # bit for bit
    # another world size is well defined: the same global batches and carried state
    assert main(["train", str(corpus), "--out", str(other), "--resume", "--quiet"]) == 0
    assert step_of(other) == LM_STEPS
    assert_close(weights(other), weights(lm_two))


@pytest.mark.slow
def test_killing_one_rank_stops_the_other_in_one_sentence(corpus, tmp_path):
    out = tmp_path / "run"
    argv = recurrente("train", corpus, "--out", out, *LM, "--max-steps", 100000)
    proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    wait_for_step(out, proc, 20)
    rank1 = [pid for pid in descendants(proc.pid) if rank_of(pid) == 1]
    assert len(rank1) == 1, "rank 1's process"
    os.kill(rank1[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGKILL, err  # the status of the process lost
    said = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(said) == 1 and "Traceback" not in err, err
    assert "another process of the run stopped" in said[0] and "--resume" in said[0]
    from recurrente.train.checkpoint import load_last
    from recurrente.train.run import load_run
    loaded = load_run(out)
    state = load_last(out, loaded.model)
    assert state["progress"]["step"] >= 20 and state["world_size"] == 2


# ----------------------------------------------------------------------------- launchers


@pytest.mark.slow
def test_two_nodes_meet_by_rendezvous_train_and_checkpoint(corpus, tmp_path):
    out, port = tmp_path / "nodes", free_port()
    procs = []
    for host in ("true", "false"):
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2",
                    "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint",
                    f"127.0.0.1:{port}", "--rdzv-id", "two-nodes", "--rdzv-conf",
                    f"is_host={host}", "--local-addr", "127.0.0.1", "-m", "recurrente",
                    "train", str(corpus), "--out", str(out), *LM, "--max-steps", "12", "--json"]
        procs.append(subprocess.Popen(torchrun, env=ENV, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    summaries = [json.loads(o.strip().splitlines()[-1]) for o, _ in outputs if o.strip()]
    assert len(summaries) == 1  # rank 0 reports, whichever node it was
    assert summaries[0]["processes"] == 2 and summaries[0]["steps"] == 12
    assert step_of(out) == 12 and (out / "model.safetensors").exists()


def test_nproc_refuses_what_it_cannot_do(corpus, tmp_path, capsys, monkeypatch):
    assert main(["train", str(corpus), "--out", str(tmp_path / "a"), *LM, "--max-steps", "1",
                 "--nproc", "0"]) == 2
    assert "--nproc: expected an integer from 1 to 1024, got '0'" in capsys.readouterr().err
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    assert main(["train", str(corpus), "--out", str(tmp_path / "b"), *LM, "--max-steps", "1",
                 "--nproc", "2"]) == 2
    assert "under torchrun, leave it out" in capsys.readouterr().err
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    assert main(["train", str(corpus), "--out", str(tmp_path / "c"), *LM, "--max-steps", "1",
                 "--nproc", "1"]) == 0  # one process: trains here


# ----------------------------------------------------------------------------- precision


@pytest.mark.parametrize("implementation", ["native", "fused", "scratch"])
def test_bf16_on_cpu_trains_and_says_so(corpus, tmp_path, capsys, implementation):
    out = tmp_path / implementation
    capsys.readouterr()
    assert main(["train", str(corpus), "--out", str(out), *LM, "--max-steps", "3",
                 "--precision", "bf16", "--implementation", implementation, "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["precision"] == "bf16" and summary["steps"] == 3
    log = captured.err
    assert f"lstm ({implementation})" in log and "bf16 autocast" in log, log
    if implementation == "fused":
        from recurrente.layers.step_gemm import bf16_available
        expected = ("fused matrix products in bf16" if bf16_available()
                    else "fused recurrence in fp32")
        assert expected in log, log
    if implementation == "native" and not _onednn_bf16():  # no AVX-512 BF16 / AMX here
        assert "native LSTM in fp32" in log
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["train"]["precision"] == "bf16"
    assert all(torch.isfinite(w).all() for w in weights(out).values())


def test_fp16_needs_cuda(corpus, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: fp16 is allowed")
    capsys.readouterr()
    assert main(["train", str(corpus), "--out", str(tmp_path / "r"), *LM, "--max-steps", "1",
                 "--precision", "fp16", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --precision fp16 needs a CUDA device") and err.count("\n") == 1
