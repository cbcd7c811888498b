"""Diagnostics: traces agree with the model, gate and clipping statistics, inspect and diagnose.

A tiny character model is built on generated text and saved as a run directory by hand (config,
weights, tokenizer, a hand-written metrics.jsonl), so nothing here trains or downloads.
"""

import json
import math
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from recurrente import GRU
from recurrente.cli.main import main
from recurrente.data.tokenizers import CharTokenizer
from recurrente.diagnostics import clipping, gates, html, spectral, traces
from recurrente.tasks.lm.model import LanguageModel
from recurrente.train import checkpoint
from recurrente.train.checkpoint import save_vocabs

TEXT = '(ab) "cd" ' * 50
HOSTILE = 'x <script>alert("hi")</script> & (ab) "cd" \u2028 </div> ' * 2
CHROMIUM = "/usr/bin/chromium"
NORMS = [[0.5, 2.0, 0.9, 1.5], [3.0, 0.2, 0.1, 0.4], [1.2, 0.8]]  # three logged windows
CLIP = 1.0


def tiny_model(cell="lstm", layers=2, seed=0) -> LanguageModel:
    torch.manual_seed(seed)
    tok = CharTokenizer.fit(TEXT)
    return LanguageModel(tok.vocab_size, cell=cell, hidden_size=8, num_layers=layers,
                         embedding_size=6)


def write_metrics(run: Path) -> None:
    lines, step = [], 0
    for window in NORMS:
        step += len(window)
        lines.append({"step": step, "loss": 2.0 - 0.1 * step, "lr": 1e-3,
                      "grad_norm": sum(window) / len(window), "grad_norm_max": max(window),
                      "grad_norms": window,
                      "clipped_fraction": sum(n > CLIP for n in window) / len(window)})
        lines.append({"step": step, "kind": "eval", "improved": True,
                      "valid_loss": 2.1 - 0.1 * step, "valid_perplexity": 1.0})
    (run / "metrics.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    tiny_model().save(run)
    save_vocabs(run, {"source": CharTokenizer.fit(TEXT)})
    checkpoint.update_config(run, options={"train": {"clip": CLIP}})
    write_metrics(run)
    (run / "text.txt").write_text(TEXT[:200])
    (run / "hostile.txt").write_text(HOSTILE)
    return run


# -- traces -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_trace_equals_model_forward(cell):
    model = tiny_model(cell).eval()
    ids = torch.as_tensor(CharTokenizer.fit(TEXT).encode(TEXT[:60]))
    trace = traces.trace_ids(model, ids)
    with torch.no_grad():
        out, state = model.rnn(model.embedding(ids))  # (T, H), final state per layer
        probs = torch.softmax(model(ids[:, None])[0][:, 0], dim=-1)  # (T, V)
    np.testing.assert_allclose(trace.layers[-1]["h"], out.numpy(), atol=1e-5)
    h_final = state.h if cell == "lstm" else state  # (L, H)
    for layer in range(2):
        np.testing.assert_allclose(trace.layers[layer]["h"][-1], h_final[layer], atol=1e-5)
        if cell == "lstm":
            np.testing.assert_allclose(trace.layers[layer]["c"][-1], state.c[layer], atol=1e-5)
    np.testing.assert_allclose(trace.top_probs[:, 0], probs.max(dim=-1).values, atol=1e-5)
    expected = probs[:-1].gather(1, ids[1:, None])[:, 0]
    np.testing.assert_allclose(trace.token_prob[1:], expected, atol=1e-5)
    assert set(trace.layers[0]) == set(traces.QUANTITIES[cell])


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_steps_follow_both_variants(reset_after):
    layer = GRU(5, 7, num_layers=2, reset_after=reset_after, implementation="scratch")
    x = torch.randn(11, 5)
    with torch.no_grad():
        out, _ = layer(x)
    recorded = traces.run_steps(layer, x)
    torch.testing.assert_close(recorded[-1]["h"], out, atol=1e-5, rtol=0)


# -- gates --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_saturation_fractions_are_sensible(cell):
    model = tiny_model(cell)
    if cell == "lstm":  # a forget gate pinned open must be right-saturated everywhere
        with torch.no_grad():
            for layer in range(2):
                model.rnn.weights(layer, 0)[2][8:16] = 50.0
    trace = traces.trace_ids(model, CharTokenizer.fit(TEXT).encode(TEXT[:80]))
    stats = gates.gate_statistics(trace)
    assert len(stats) == 2 * len(gates.GATES[cell])
    for s in stats:
        assert 0 <= s.left <= 1 and 0 <= s.right <= 1 and s.left + s.right <= 1
        assert s.counts.sum() == 80 * 8
        assert s.cell_left.shape == (8,) and np.all(s.cell_left + s.cell_right <= 1)
    if cell == "lstm":
        assert all(s.right == 1.0 for s in stats if s.gate == "f")
    with pytest.raises(ValueError, match="no gates"):
        gates.gate_statistics(traces.trace_ids(tiny_model("rnn"), [1, 2, 3]))


# -- clipping, spectra ----------------------------------------------------------------------------
def test_clipping_fraction_matches_hand_count(run_dir, tmp_path):
    report = clipping.clipping_report(run_dir)
    flat = [n for window in NORMS for n in window]
    assert report.clip == CLIP
    assert list(report.steps) == list(range(1, len(flat) + 1))
    assert report.fraction == pytest.approx(sum(n > CLIP for n in flat) / len(flat))  # 4 / 10
    assert list(report.window_fraction) == pytest.approx([0.5, 0.25, 0.5])
    png = clipping.plot_clipping(report, tmp_path / "clip.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spectral_radius_of_known_matrix():
    layer = GRU(3, 2)
    with torch.no_grad():
        w = torch.zeros(6, 2)
        w[0:2] = torch.tensor([[0.5, 0.0], [0.0, -2.0]])  # r block: eigenvalues 0.5, -2
        w[4:6] = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # n block: rotation, |λ| = 1
        layer.weight_hh_l0.copy_(w)
    rows = {r.gate: r for r in spectral.spectral_radii(layer)}
    assert rows["r"].radius == pytest.approx(2.0) and rows["z"].radius == pytest.approx(0.0)
    assert rows["n"].radius == pytest.approx(1.0) and rows["n"].norm == pytest.approx(1.0)


# -- inspect --------------------------------------------------------------------------------------
def test_regex_ranking_finds_the_indicator_cell():
    tokens = list(TEXT[:100])
    inside = html.regex_indicator(tokens, r'"[^"]*"')
    assert "".join(t for t, m in zip(tokens, inside) if m) == '"cd"' * 10
    values = np.random.default_rng(0).normal(size=(100, 6))
    values[:, 4] = inside * 2.0 - 1.0
    best = html.rank_cells(values, inside, top=3)[0]
    assert best.cell == 4 and best.r == pytest.approx(1.0)


def inspect(run_dir, out, *extra):
    return main(["inspect", str(run_dir), "--text", str(run_dir / "hostile.txt"),
                 "--html", str(out), *extra])


def test_inspect_writes_safe_self_contained_html(run_dir, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert inspect(run_dir, out, "--find", r'"[^"]*"', "--top", "3", "--json") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    page = out.read_text()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", page)
    assert page.count("<script") == 2  # the JSON data block and the inline code
    block = page.split('id="trace-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block  # all escaped
    assert "".join(json.loads(block)["tokens"]) == HOSTILE  # and JSON gives the text back
    assert summary["tokens"] == len(HOSTILE) and len(summary["ranking"]) == 3


@pytest.mark.parametrize("extra, message", [
    (["--cells", "3,99"], "cell indices in [0, 7]"),
    (["--cells", "a,b"], "comma-separated integers"),
    (["--find", "(unclosed"], "not a valid regular expression"),
    (["--find", "zzz"], "matches part of the text"),
    (["--gate", "r"], "no gate 'r'"),
    (["--layer", "5"], "--layer in [0, 1]"),
])
def test_inspect_bad_inputs_are_one_sentence(run_dir, tmp_path, capsys, extra, message):
    assert inspect(run_dir, tmp_path / "x.html", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_inspect_refuses_a_missing_run_or_text(run_dir, tmp_path, capsys):
    assert main(["inspect", str(tmp_path), "--text", str(run_dir / "text.txt")]) == 2
    assert main(["inspect", str(run_dir), "--text", str(tmp_path / "none.txt")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert "not a recurrente run" in errors[0] and "text file not found" in errors[1]


@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason=f"{CHROMIUM} is absent (apt-get install -y chromium); "
                           f"cannot check the page renders")
def test_inspect_page_renders_in_headless_chromium(run_dir, tmp_path):
    out = tmp_path / "page.html"
    assert inspect(run_dir, out, "--cells", "1,5") == 0
    profile = tmp_path / "profile"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=90)
    shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = DomSpans()
    dom.feed(result.stdout)
    assert 'data-rendered-rows="3"' in result.stdout  # the script ran: surprisal row + 2 cells
    assert dom.scripts == 2  # the text's <script> stayed text
    for row in ("row-1", "row-2"):  # each cell row shows every character, each one coloured
        assert "".join(dom.text[row]) == HOSTILE
        assert dom.coloured[row] == len(HOSTILE)


class DomSpans(HTMLParser):
    """Per rendered row: the characters of its spans, and how many spans have a background."""

    def __init__(self):
        super().__init__()
        self.row, self.in_span, self.scripts = None, False, 0
        self.text, self.coloured = defaultdict(list), defaultdict(int)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        if tag == "div" and (attrs.get("id") or "").startswith("row-"):
            self.row = attrs["id"]
        if tag == "span" and attrs.get("class") == "tok":
            self.in_span = True
            self.coloured[self.row] += "background-color: rgb(" in (attrs.get("style") or "")

    def handle_endtag(self, tag):
        self.in_span = False if tag == "span" else self.in_span
        self.row = None if tag == "div" else self.row

    def handle_data(self, data):
        if self.in_span:
            self.text[self.row].append(data)


# -- diagnose -------------------------------------------------------------------------------------
def test_diagnose_writes_plots_and_json(run_dir, tmp_path, capsys):
    out = tmp_path / "diag"
    argv = ["diagnose", str(run_dir), "--text", str(run_dir / "text.txt"), "--out", str(out)]
    assert main(argv + ["--json"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    result = json.loads(printed[-1])
    assert any("spectral radius" in line for line in printed)
    assert len(result["spectral"]) == 2 * 4  # two layers, gates i f g o
    assert result["clipping"]["clipped_fraction"] == pytest.approx(0.4)
    assert len(result["gates"]["table"]) == 2 * 4
    best = result["curves"][run_dir.name]
    assert best["valid_bits_per_token"] == pytest.approx(best["valid_loss"] / math.log(2))
    for name in ("gates.png", "gate-saturation.png", "clipping.png", "curves.png",
                 "diagnostics.json"):
        assert (out / name).stat().st_size > 0
