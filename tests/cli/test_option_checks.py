"""The range checks every task's options share (recurrente.errors) and the model flags every
task's train command shares (recurrente.cli.common.model_flags)."""

import pytest

from recurrente.cli.checks import BATCH, RATE
from recurrente.cli.common import model_flags
from recurrente.errors import UserError, check_positive, check_rates


def test_the_first_value_out_of_range_is_named():
    check_positive({"--hidden": 1, "--layers": 3})
    with pytest.raises(UserError, match=r"^expected --layers >= 1, got 0$"):
        check_positive({"--hidden": 8, "--layers": 0, "--batch-size": -1})
    check_rates({"--dropout": 0.0, "--word-dropout": 0.99})
    with pytest.raises(UserError, match=r"^expected --dropout in \[0, 1\), got 1\.0$"):
        check_rates({"--dropout": 1.0})
    with pytest.raises(UserError, match=r"^expected --dropout in \[0, 1\), got nan$"):
        check_rates({"--dropout": float("nan")})
    check_rates({"--teacher-forcing": 1.0}, include_one=True)
    with pytest.raises(UserError, match=r"^expected --teacher-forcing in \[0, 1\], got 1\.5$"):
        check_rates({"--teacher-forcing": 1.5}, include_one=True)


def test_model_flags_keep_the_order_and_put_the_tasks_own_flags_between():
    flags = model_flags(cells="lstm, gru or rnn", embedding="e", dropout="d", batch_size="b",
                        after_embedding={"--head": (str, "h")},
                        after_dropout={"--word-dropout": (RATE, "w")})
    assert list(flags) == ["--cell", "--implementation", "--layers", "--hidden", "--embedding",
                           "--head", "--dropout", "--word-dropout", "--batch-size"]
    assert flags["--cell"] == (str, "lstm, gru or rnn (default lstm)")
    assert flags["--batch-size"] == (BATCH, "b")
    assert flags["--layers"][1] == "stacked recurrent layers (default 1)"
