"""Scheduled sampling for the language model: ε = 1 is teacher forcing exactly, ε = 0 feeds the
model's own most likely tokens, and the option trains from the command line."""

import json

import torch

from recurrente.cli.main import main
from recurrente.tasks.lm.model import LanguageModel
from tests.lm_fixtures import word_corpus


def _model(**kwargs):
    torch.manual_seed(0)
    return LanguageModel(12, hidden_size=16, num_layers=2, implementation="native", **kwargs)


def test_epsilon_one_is_teacher_forcing():
    x, y = torch.randint(0, 12, (7, 3)), torch.randint(0, 12, (7, 3))
    plain, scheduled = _model(), _model(scheduled_sampling="linear")
    scheduled.on_train_step(0, 0.0)  # linear: ε = 1 at the start of the run
    assert torch.equal(plain.loss((x, y))[0], scheduled.loss((x, y))[0])


def test_epsilon_zero_reads_the_models_own_argmax():
    x, y = torch.randint(0, 12, (6, 2)), torch.randint(0, 12, (6, 2))
    model = _model(scheduled_sampling="linear", sampling_k=0.0)
    model.on_train_step(1000, 1.0)  # linear to its floor 0: only the model's own tokens
    loss, count, _ = model.loss((x, y))
    with torch.no_grad():  # the same by hand: feed each step's argmax back
        token, state, logits = x[0], None, []
        for t in range(6):
            out, state = model(token.unsqueeze(0), state)  # (1, B, V)
            logits.append(out[0])
            token = out[0].argmax(-1)
        expected = torch.nn.functional.cross_entropy(torch.stack(logits).reshape(-1, 12),
                                                     y.reshape(-1), reduction="sum")
    torch.testing.assert_close(loss.detach(), expected)
    assert count == 12


def test_trains_from_the_command_line(tmp_path):
    (tmp_path / "c.txt").write_text(word_corpus(1500))
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "c.txt"), "--out", str(out), "--preset", "tiny",
                 "--hidden", "16", "--seq-len", "12", "--max-steps", "4", "--quiet",
                 "--scheduled-sampling", "inverse_sigmoid", "--sampling-k", "2"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["scheduled_sampling"] == "inverse_sigmoid"
