"""``recurrente lab caption``: a decoder conditioned on an 8×8 digit image writes the digit's
Spanish name, letter by letter, and gets held-out images right; trained by steps, so the
numbers do not depend on the machine's load."""

import json

import pytest

from recurrente.cli.main import main
from recurrente.lab.caption import NAMES, letters
from recurrente.tasks.seq2seq.metrics import error_rate


@pytest.mark.slow
def test_caption_learns_to_name_digits(tmp_path, capsys):
    out = tmp_path / "caption"
    capsys.readouterr()
    assert main(["lab", "caption", "--cells", "gru", "--time-budget", "0", "--max-steps", "700",
                 "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["cell"] == "gru" and result["steps"] == 700 and result["test_images"] == 449
    assert result["exact"] >= 0.85 and result["cer"] <= 0.1, result
    assert (out / "captions.png").stat().st_size > 5000
    saved = json.loads((out / "caption.json").read_text())[0]
    assert set(saved["captions"]) <= set(NAMES) | {""} or saved["exact"] < 1
    assert saved["baseline_accuracy"] > 0.9  # the logistic regression reference


def test_caption_options_and_metrics(capsys):
    assert error_rate(["siete", "ocho"], ["siete", "ocio"]) == pytest.approx(1 / 9)
    assert error_rate(["sete"], ["siete"]) == pytest.approx(1 / 5)
    assert letters().itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert main(["lab", "caption", "--T", "5"]) == 2
    assert "no --T" in capsys.readouterr().err
    assert main(["lab", "caption", "--cells", "tree"]) == 2
