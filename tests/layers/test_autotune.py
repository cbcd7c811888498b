"""``implementation="auto"`` measured on this machine: the faster candidate wins and is cached;
a corrupt or stale cache is ignored with one sentence; ``RECURRENTE_AUTOTUNE=0`` uses the table;
measuring never changes results or the random stream."""

import json
import time

import pytest
import torch

import recurrente
from recurrente.layers import autotune, registry


class SlowNative(recurrente.LSTM):
    """An LSTM whose ``native`` candidate is made slower by ``delay`` seconds per pass (a fake
    implementation with a known speed), and that counts the passes timed."""

    delay = {"native": 0.02, "fused": 0.0}

    def run_implementation(self, implementation, x, params):
        type(self).calls.append(implementation)
        time.sleep(self.delay[implementation])
        return super().run_implementation(implementation, x, params)


@pytest.fixture
def tuning(tmp_path, monkeypatch):
    """Measuring on, a private cache folder, no decisions carried between tests."""
    monkeypatch.setenv(autotune.ENV, "1")
    monkeypatch.setenv(autotune.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(SlowNative, "calls", [], raising=False)
    autotune.forget()
    yield tmp_path / "autotune.json"
    autotune.forget()


def run_once(layer, training=True):
    x = torch.randn(5, 3, layer.input_size, requires_grad=training)
    with torch.set_grad_enabled(training):
        return layer(x)[0]


def test_picks_the_faster_of_two_fakes_and_caches_it(tuning):
    layer = SlowNative(4, 6, implementation="auto")
    run_once(layer)
    assert layer.implementation_for("cpu", training=True) == "fused"
    assert {"native", "fused"} <= set(SlowNative.calls)
    entry = json.loads(tuning.read_text())
    (machine_cases,) = entry["machines"].values()
    (case_entry,) = machine_cases.values()
    assert case_entry["choice"] == "fused"
    assert case_entry["seconds"]["native"] > case_entry["seconds"]["fused"] + 0.015
    (note,) = autotune.take_notes()
    assert note.startswith("auto: fused for the 1x6 lstm (training") and "measured" in note
    SlowNative.delay = {"native": 0.0, "fused": 0.02}
    try:  # the other way round: the slow one loses again
        autotune.forget()
        tuning.unlink()
        run_once(SlowNative(4, 6, implementation="auto"))
        assert autotune.take_notes()[0].startswith("auto: native for")
    finally:
        SlowNative.delay = {"native": 0.02, "fused": 0.0}


def test_a_new_process_reads_the_cache_without_measuring(tuning):
    run_once(SlowNative(4, 6))
    autotune.forget()  # as a new process would start
    SlowNative.calls.clear()
    layer = SlowNative(4, 6)
    run_once(layer)
    assert SlowNative.calls == []
    assert layer.implementation_for("cpu", training=True) == "fused"
    assert "(cached)" in autotune.take_notes()[0]


def test_training_and_inference_are_separate_cases(tuning):
    layer = SlowNative(4, 6)
    run_once(layer, training=True)
    run_once(layer, training=False)
    keys = list(json.loads(tuning.read_text())["machines"].values())[0]
    assert sorted(k.rsplit(" ", 1)[1] for k in keys) == ["inference", "training"]


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": 99, "machines": {}}),
                                     json.dumps([1, 2])], ids=["corrupt", "stale", "wrong"])
def test_corrupt_or_stale_cache_is_ignored_with_one_sentence(tuning, content, capsys):
    tuning.write_text(content)
    layer = SlowNative(4, 6)
    run_once(layer)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ignoring the autotune cache" in err
    assert "Traceback" not in err
    assert layer.implementation_for("cpu", training=True) == "fused"
    assert json.loads(tuning.read_text())["format"] == autotune.FORMAT  # rewritten


def test_a_stale_entry_is_measured_again(tuning, capsys):
    run_once(SlowNative(4, 6))
    data = json.loads(tuning.read_text())
    for cases in data["machines"].values():
        for entry in cases.values():
            entry["choice"] = "an-implementation-that-is-gone"
    tuning.write_text(json.dumps(data))
    autotune.forget()
    SlowNative.calls.clear()
    run_once(SlowNative(4, 6))
    assert SlowNative.calls and "stale entry" in capsys.readouterr().err


def test_measuring_off_uses_the_table(tuning, monkeypatch):
    monkeypatch.setenv(autotune.ENV, "0")
    layer = SlowNative(4, 6)
    run_once(layer)
    assert SlowNative.calls == [] and not tuning.exists()
    table = registry.resolve("auto", "lstm", 6, "cpu")
    assert layer.implementation_for("cpu") == table


def test_without_a_batch_nothing_is_measured(tuning):
    layer = SlowNative(4, 6)
    assert layer.implementation_for("cpu") == registry.resolve("auto", "lstm", 6, "cpu")
    assert SlowNative.calls == [] and not tuning.exists()


def test_one_candidate_is_not_measured(tuning):
    gru = recurrente.GRU(4, 6, reset_after=False)
    run_once(gru)
    assert gru.implementation_for("cpu", batch=3) == "fused" and not tuning.exists()


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_measuring_changes_neither_results_nor_the_random_stream(tuning, cell):
    torch.manual_seed(1)
    tuned = getattr(recurrente, cell)(4, 6, num_layers=2, dropout=0.5)
    fixed = getattr(recurrente, cell)(4, 6, num_layers=2, dropout=0.5, implementation="fused")
    fixed.load_state_dict(tuned.state_dict())
    x = torch.randn(7, 3, 4, dtype=torch.float32)
    torch.manual_seed(2)
    y_tuned, _ = tuned(x)  # measures, then runs with dropout
    after_tuned = torch.rand(3)
    torch.manual_seed(2)
    chosen = tuned.implementation_for("cpu", training=True)
    fixed.implementation = chosen
    y_fixed, _ = fixed(x)
    after_fixed = torch.rand(3)
    torch.testing.assert_close(y_tuned, y_fixed, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after_tuned, after_fixed, atol=0, rtol=0)


def test_an_unwritable_cache_is_said_once(tuning, monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(autotune.CACHE_ENV, str(blocker / "sub"))
    layer = SlowNative(4, 6)
    run_once(layer)
    run_once(SlowNative(4, 8))
    err = capsys.readouterr().err
    assert err.count("cannot write the autotune cache") == 1
    assert layer.implementation_for("cpu", training=True) == "fused"
