"""``recurrente check`` in-process: passes on a correct build, fails when an implementation lies."""

import sys
import types

from recurrente.cli.main import main
from recurrente.layers import registry, scratch


def test_check_passes_and_prints_a_table(capsys):
    assert main(["check", "--no-cuda"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "gru-reset-before" in out and "0 failed" in out
    assert "default: " in out


def test_check_fails_when_an_implementation_is_wrong(capsys, monkeypatch):
    def broken_lstm(x, state0, *weights):
        h_all, c_all = scratch.lstm_direction(x, state0, *weights)
        return h_all * (1 + 1e-6), c_all  # a tiny error must not pass

    module = types.ModuleType("broken_runners")
    module.RUNNERS = {**scratch.RUNNERS, "lstm": broken_lstm}
    monkeypatch.setitem(sys.modules, "broken_runners", module)
    monkeypatch.setitem(registry.MODULES, "broken", "broken_runners")
    assert main(["check", "--no-cuda"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "broken" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "check" in capsys.readouterr().out
