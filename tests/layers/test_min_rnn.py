"""minGRU and minLSTM: the scans against the loop, the three implementations against each other
and against the paper's equations written out here, in float64, with lengths and carried state."""

import pytest
import torch

from recurrente.layers import scan
from recurrente.layers.factory import make_layer
from recurrente.layers.min_rnn import MinGRU, MinLSTM

IMPLEMENTATIONS = ("parallel", "logspace", "scratch")


def _paper_step(cell, x_t, h, w, b):
    """The paper's log-space-version update (Feng et al. 2024, Appendix B), written from the
    equations independently of recurrente.cells.min_rnn."""
    k = x_t @ w.T + b
    g = lambda v: torch.where(v >= 0, v + 0.5, torch.sigmoid(v))  # noqa: E731
    if cell == "mingru":
        k_z, k_h = k.chunk(2, dim=-1)
        z = torch.sigmoid(k_z)
        return (1 - z) * h + z * g(k_h)
    k_i, k_f, k_h = k.chunk(3, dim=-1)
    i, f = torch.sigmoid(k_i), torch.sigmoid(k_f)
    return f / (f + i) * h + i / (f + i) * g(k_h)


@pytest.mark.parametrize("T", [1, 2, 7, 16, 50])
def test_scans_agree_with_the_loop(T):
    gen = torch.Generator().manual_seed(T)
    a = torch.rand(T, 3, 4, generator=gen, dtype=torch.float64) * 0.98 + 0.01
    b = torch.rand(T, 3, 4, generator=gen, dtype=torch.float64) + 0.1
    h0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    loop = scan.sequential_scan(a, b, h0)
    torch.testing.assert_close(scan.linear_scan(a, b, h0), loop, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(scan.log_space_scan(a.log(), b.log(), h0), loop,
                               rtol=1e-10, atol=1e-10)


def test_linear_scan_backward_is_the_gradient():
    gen = torch.Generator().manual_seed(0)
    a = (torch.rand(11, 2, 3, generator=gen, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    b = torch.randn(11, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(scan.linear_scan, (a, b, h0))


def test_linear_scan_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="one shape"):
        scan.linear_scan(torch.ones(3, 2), torch.ones(3, 2), torch.ones(3))


def _run(cell, impl, x, h0, lengths, seed=0):
    torch.manual_seed(seed)
    layer = make_layer(cell, x.shape[-1], 6, num_layers=2, bidirectional=True,
                       implementation=impl).double()
    x = x.clone().requires_grad_()
    y, h = layer(x, h0, lengths=lengths)
    (y.sin().sum() + h.pow(2).sum()).backward()
    return layer, y, h, x.grad, {n: p.grad for n, p in layer.named_parameters()}


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_implementations_agree_in_float64(cell):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(23, 3, 5, generator=gen, dtype=torch.float64)
    h0 = torch.randn(4, 3, 6, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([23, 9, 1])
    _, *ref = _run(cell, "scratch", x, h0, lengths)
    for impl in ("parallel", "logspace"):
        _, *got = _run(cell, impl, x, h0, lengths)
        for r, g in zip(ref[:3], got[:3]):
            torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-9)
        for name in ref[3]:
            torch.testing.assert_close(got[3][name], ref[3][name], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_one_layer_is_the_papers_update(cell):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(9, 2, 4, generator=gen, dtype=torch.float64)
    h = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    layer = make_layer(cell, 4, 5, implementation="parallel").double()
    y, h_T = layer(x, h[None])
    w, b = layer.weight_ih_l0, layer.bias_ih_l0
    for t in range(9):
        h = _paper_step(cell, x[t], h, w, b)
        torch.testing.assert_close(y[t], h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_T[0], h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_padding_does_not_reach_the_state(cell):
    """A sequence padded with garbage gives the same outputs and final state as alone."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 2, 3, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    layer = make_layer(cell, 3, 4, bidirectional=True).double()
    y, h = layer(x, lengths=torch.tensor([8, 5]))
    y_alone, h_alone = layer(x[:5, 1:])
    torch.testing.assert_close(y[:5, 1:], y_alone)
    torch.testing.assert_close(h[:, 1:], h_alone)
    assert y[5:, 1].abs().max() == 0


def test_bf16_autocast_runs_the_scan_in_float32():
    layer = MinGRU(4, 8)
    x = torch.randn(20, 2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, _ = layer(x)
    reference, _ = layer(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, reference, rtol=0.05, atol=0.05)


def test_refusals_are_sentences():
    with pytest.raises(ValueError, match="no 'fused' implementation"):
        MinLSTM(3, 4, implementation="fused")
    with pytest.raises(ValueError, match="no recurrent weight"):
        MinGRU(3, 4, weight_dropout=0.2)
    with pytest.raises(ValueError, match="no recurrent weight"):
        MinGRU(3, 4, recurrent_init="orthogonal")


def test_parameters_are_input_projections_only():
    names = [n for n, _ in MinLSTM(3, 4, num_layers=2, bidirectional=True).named_parameters()]
    assert all(n.startswith(("weight_ih", "bias_ih")) for n in names)
    assert len(names) == 8
    assert MinLSTM(3, 4).weight_ih_l0.shape == (12, 3)


def test_auto_is_parallel():
    assert MinGRU(3, 4).implementation_for(torch.device("cpu"), batch=2, steps=5) == "parallel"


def test_numpy_reference_bptt_matches_central_differences():
    """The hand-written minGRU BPTT (reference/mingru.py) against finite differences."""
    import numpy as np
    from recurrente import reference
    rng = np.random.default_rng(3)
    params = {"w_ih": rng.standard_normal((2 * 4, 5)), "b_ih": rng.standard_normal(2 * 4)}
    errors = reference.gradcheck("mingru", rng.standard_normal((6, 2, 5)),
                                 rng.standard_normal((2, 4)), params)
    assert set(errors) == {"x", "h0", "w_ih", "b_ih"} and max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("implementation", ["parallel", "logspace", "scratch"])
def test_every_implementation_matches_the_numpy_reference(implementation):
    """Forward, final state and every gradient against the NumPy BPTT, float64 (what
    `recurrente check` reports)."""
    from recurrente.check import check_against_reference
    rows = check_against_reference("mingru", implementation)
    assert len(rows) == 2 and all(r.ok and r.max_abs_diff < 1e-10 for r in rows), rows


def test_numpy_reference_truncation_matches_a_detached_state():
    """``truncate=k``: the gradient of a run whose state is detached k steps from the end."""
    import numpy as np
    from recurrente.reference import mingru
    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((7, 2, 3)), rng.standard_normal((2, 4))
    params = {"w_ih": rng.standard_normal((8, 3)), "b_ih": rng.standard_normal(8)}
    h_all, _, cache = mingru.forward(x, h0, params)
    g = rng.standard_normal(h_all.shape)
    dx, dh0, dp = mingru.backward(g, None, cache, truncate=3)
    _, _, tail = mingru.forward(x[4:], h_all[3], params)  # the last 3 steps from a constant
    dx_tail, _, dp_tail = mingru.backward(g[4:], None, tail)
    assert np.allclose(dx[4:], dx_tail) and not dx[:4].any() and not dh0.any()
    assert all(np.allclose(dp[k], dp_tail[k]) for k in dp)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_language_model_trains_samples_exports_and_refuses_what_it_lacks(cell, tmp_path, capsys):
    """`recurrente train --cell mingru|minlstm` learns (the loss falls on a repetitive text),
    resumes, evaluates, samples and exports (parity-checked); the gate diagnostics say in one
    sentence that they do not take these cells yet."""
    import json
    from recurrente.cli.main import main
    corpus = tmp_path / "abc.txt"
    corpus.write_text("abcabcabd " * 400, encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(out), "--cell", cell, "--hidden", "32",
            "--layers", "2", "--seq-len", "16", "--batch-size", "8", "--json"]
    assert main(args + ["--max-steps", "120"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["implementation"] == "parallel" and summary["valid_loss"] < 1.0, summary
    assert main(["sample", str(out), "-n", "20", "--seed", "0"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 10
    assert main(["export", str(out), "--out", str(tmp_path / "onnx")]) == 0
    assert (tmp_path / "onnx" / "manifest.json").exists()
    capsys.readouterr()
    assert main(["diagnose", str(out)]) != 0
    assert cell in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_the_single_step_cell_steps_the_layers_weights_exactly(cell):
    """MinGRUCell/MinLSTMCell (the translator's decoder) with a one-layer layer's weights, step by
    step, give the layer's outputs in float64; a wrong implementation name is one sentence."""
    from recurrente.layers.min_cell_modules import MinGRUCell, MinLSTMCell
    from recurrente.layers.min_rnn import MinGRU, MinLSTM
    layer_class, cell_class = {"mingru": (MinGRU, MinGRUCell),
                               "minlstm": (MinLSTM, MinLSTMCell)}[cell]
    layer = layer_class(5, 7).double()
    step = cell_class(5, 7).double()
    step.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(9, 3, 5, dtype=torch.float64)
    out, _ = layer(x)
    h = None
    for t in range(9):
        h = step(x[t], h)
        torch.testing.assert_close(h, out[t], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="has no 'fused' implementation; expected one of"):
        cell_class(5, 7, implementation="fused")
