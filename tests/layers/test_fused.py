"""Tests of implementation="fused": hand-written BPTT against autograd, gradcheck, torch.nn.

1. Runner level, float64: the fused runner against the scratch runner (autograd through the
   course's cells) to 1e-10 on ``H_all``, ``C_all`` and every gradient.
2. ``torch.autograd.gradcheck`` on tiny sizes, every cell.
3. Layer level: ``recurrente.X(..., implementation="fused")`` against ``torch.nn.X`` with the
   same ``state_dict``: depth, directions, batch_first, lengths (against a PackedSequence),
   initial state; outputs, final state and all gradients.
4. The no-grad path and a retained graph give the same numbers.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import recurrente
from recurrente.layers import fused, fused_ops, scratch, step_gemm
from recurrente.layers.factory import make_layer

T, B, D, H = 6, 3, 4, 5
# name -> (cell, gates, runner options)
CELLS = {
    "rnn_tanh": ("rnn", 1, {"nonlinearity": "tanh"}),
    "rnn_relu": ("rnn", 1, {"nonlinearity": "relu"}),
    "lstm": ("lstm", 4, {}),
    "gru": ("gru", 3, {"reset_after": True}),
    "gru_reset_before": ("gru", 3, {"reset_after": False}),
}


def make_inputs(name, bias=True, dtype=torch.float64, seed=0, steps=T, batch=B):
    """``(x, state0, [w_ih, w_hh, b_ih, b_hh])``, all leaves requiring grad."""
    cell, gates, _ = CELLS[name]
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape, scale=1.0: (torch.randn(*shape, generator=g, dtype=dtype)  # noqa: E731
                                      * scale).requires_grad_()
    x = rand(steps, batch, D)  # (T, B, D)
    state0 = (rand(batch, H), rand(batch, H)) if cell == "lstm" else rand(batch, H)
    weights = [rand(gates * H, D, scale=0.6), rand(gates * H, H, scale=0.6)]
    weights += [rand(gates * H, scale=0.3), rand(gates * H, scale=0.3)] if bias else [None, None]
    return x, state0, weights


def leaves(x, state0, weights):
    states = list(state0) if isinstance(state0, tuple) else [state0]
    return [x] + states + [w for w in weights if w is not None]


def run_and_grad(runners, name, x, state0, weights, seed=1):
    """Outputs and the gradients of a loss that uses every step of ``H_all`` and ``C_all``."""
    cell, _, options = CELLS[name]
    h_all, c_all = runners[cell](x, state0, *weights, **options)
    g = torch.Generator().manual_seed(seed)
    noise = lambda t: torch.randn(t.shape, generator=g, dtype=t.dtype).to(t.device)  # noqa: E731
    loss = (h_all * noise(h_all)).sum()
    if c_all is not None:
        loss = loss + (c_all * noise(c_all)).sum()
    inputs = [t for t in leaves(x, state0, weights) if t.requires_grad]
    return h_all, c_all, torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", list(CELLS))
def test_runner_matches_scratch_float64(name, bias):
    x, state0, weights = make_inputs(name, bias)
    h1, c1, g1 = run_and_grad(scratch.RUNNERS, name, x, state0, weights)
    h2, c2, g2 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    torch.testing.assert_close(h2, h1, atol=1e-10, rtol=0)
    if c1 is not None:
        torch.testing.assert_close(c2, c1, atol=1e-10, rtol=0)
    assert len(g1) == len(g2) == len(leaves(x, state0, weights))
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", list(CELLS))
def test_runner_spanning_several_chunks(name, monkeypatch):
    """Backward works chunk by chunk (fused.TIME_CHUNK steps): 19 steps in chunks of 4."""
    monkeypatch.setattr(fused_ops, "TIME_CHUNK", 4)
    x, state0, weights = make_inputs(name, steps=19)
    h1, c1, g1 = run_and_grad(scratch.RUNNERS, name, x, state0, weights)
    h2, c2, g2 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    for a, b in zip([h2] + list(g2), [h1] + list(g1)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def _force_packing(monkeypatch, backend):
    """Pack every weight of any length with ``backend`` (False where the platform lacks it)."""
    monkeypatch.setattr(step_gemm, "PACK_MIN_STEPS", 1)
    monkeypatch.setattr(step_gemm, "PACK_MIN_NUMEL", 0)
    monkeypatch.setattr(step_gemm, "REQUESTED", backend)
    return step_gemm.packing_backend(torch.zeros(1)) == backend


@pytest.mark.parametrize("backend", ["onednn", "mkl"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", list(CELLS))
def test_runner_float32_packed_gemm(name, bias, backend, monkeypatch):
    """float32 on CPU takes a packed-GEMM path; it must agree with autograd through scratch."""
    if not _force_packing(monkeypatch, backend):
        pytest.skip(f"{backend} packed GEMM not available")
    packs = []
    original = step_gemm.StepWeight.__init__

    def spy(self, *args):
        original(self, *args)
        packs.append(self.backend)

    monkeypatch.setattr(step_gemm.StepWeight, "__init__", spy)
    x, state0, weights = make_inputs(name, bias, dtype=torch.float32, steps=11)
    h1, c1, g1 = run_and_grad(scratch.RUNNERS, name, x, state0, weights)
    h2, c2, g2 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    assert packs and set(packs) == {backend}
    for a, b in zip([h2] + ([c2] if c2 is not None else []) + list(g2),
                    [h1] + ([c1] if c1 is not None else []) + list(g1)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _relative_error(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "unpacked"])
@pytest.mark.parametrize("name", [n for n in CELLS if n != "rnn_relu"])
def test_runner_bf16_products_stay_near_float32(name, packed, monkeypatch):
    """With the products in bfloat16 (step_gemm.matmul_in: 8 mantissa bits, float32 sums) every
    output and gradient is within 2% of the float32 result, and not equal to it (the mode is
    on); the outputs and gradients stay float32. (Not the ReLU RNN: with these weights its
    state grows without bound over 20 steps, and any rounding grows with it.)"""
    if packed and not _force_packing(monkeypatch, "onednn"):
        pytest.skip("onednn packed GEMM not available")
    x, state0, weights = make_inputs(name, dtype=torch.float32, steps=20, batch=8)
    h1, c1, g1 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    with step_gemm.matmul_in(torch.bfloat16):
        h2, c2, g2 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    pairs = list(zip([h2] + list(g2), [h1] + list(g1)))
    if c1 is not None:
        pairs.append((c2, c1))
    errors = [_relative_error(a, b) for a, b in pairs]
    assert all(a.dtype == torch.float32 for a, _ in pairs)
    assert max(errors) < 2e-2, errors
    assert min(errors) > 0, "the bfloat16 products were not used"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layer_under_bf16_autocast_near_float32(cell):
    """A fused layer under CPU bfloat16 autocast: float32 outputs within 2% of the float32
    layer's, gradients too; its products in bfloat16 exactly where the CPU has the
    instructions (step_gemm.bf16_available), else the same numbers as float32."""
    torch.manual_seed(0)
    layer = make_layer(cell, 8, 16, 2, implementation="fused")
    x = torch.randn(24, 4, 8)

    def run(autocast):
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            y, _ = layer(x)
        y.pow(2).sum().backward()
        return [y.detach()] + [p.grad.clone() for p in layer.parameters()]

    full, low = run(False), run(True)
    errors = [_relative_error(a, b) for a, b in zip(low, full)]
    assert low[0].dtype == torch.float32 and max(errors) < 2e-2, errors
    if step_gemm.bf16_available():
        assert min(errors) > 0
    else:
        assert max(errors) < 1e-6


def test_packing_backend_falls_back(monkeypatch):
    """float64 and an unknown request never pack; a request the platform lacks falls to addmm."""
    assert step_gemm.packing_backend(torch.zeros(2, dtype=torch.float64)) == "addmm"
    monkeypatch.setattr(step_gemm, "REQUESTED", "addmm")
    assert step_gemm.packing_backend(torch.zeros(2)) == "addmm"
    monkeypatch.setattr(step_gemm, "_works", lambda backend, dtype: False)
    monkeypatch.setattr(step_gemm, "REQUESTED", "onednn")
    assert step_gemm.packing_backend(torch.zeros(2)) == "addmm"


@pytest.mark.parametrize("which", ["x", "state", "weights", "w_hh"])
@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru", "gru_reset_before"])
def test_runner_subset_requires_grad(name, which):
    x, state0, weights = make_inputs(name)
    states = list(state0) if isinstance(state0, tuple) else [state0]
    keep = {"x": [x], "state": states, "weights": weights, "w_hh": [weights[1]]}[which]
    for t in leaves(x, state0, weights):
        if not any(t is k for k in keep):
            t.requires_grad_(False)
    _, _, g1 = run_and_grad(scratch.RUNNERS, name, x, state0, weights)
    _, _, g2 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    assert len(g1) == len(g2) == len(keep)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("use", ["h_only", "c_only", "c_last_step"])
def test_lstm_gradient_from_one_output(use):
    """Backward receives None (or a mostly-zero tensor) for one of H_all and C_all."""
    x, state0, weights = make_inputs("lstm")
    grads = []
    for runners in (scratch.RUNNERS, fused.RUNNERS):
        h_all, c_all = runners["lstm"](x, state0, *weights)
        loss = {"h_only": h_all.sum(), "c_only": c_all.square().sum(),
                "c_last_step": c_all[-1].sum() + h_all[2].sum()}[use]
        grads.append(torch.autograd.grad(loss, leaves(x, state0, weights)))
    for a, b in zip(grads[1], grads[0]):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", list(CELLS))
def test_gradcheck(name):
    cell, _, options = CELLS[name]
    x, state0, weights = make_inputs(name, steps=3, batch=2)
    states = tuple(state0) if isinstance(state0, tuple) else (state0,)

    def f(x, *rest):
        s = rest[:len(states)]
        out = fused.RUNNERS[cell](x, s if cell == "lstm" else s[0], *rest[len(states):],
                                  **options)
        return tuple(o for o in out if o is not None)

    assert torch.autograd.gradcheck(f, (x, *states, *weights), atol=1e-7)


@pytest.mark.parametrize("name", list(CELLS))
def test_no_grad_and_all_frozen_paths_match(name):
    cell, _, options = CELLS[name]
    x, state0, weights = make_inputs(name)
    h, c = fused.RUNNERS[cell](x, state0, *weights, **options)
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            h2, c2 = fused.RUNNERS[cell](x, state0, *weights, **options)
        same(h2, h), c is None or same(c2, c)
        assert not h2.requires_grad
    frozen = [t.detach() if t is not None else None for t in weights]
    frozen_state = tuple(s.detach() for s in state0) if cell == "lstm" else state0.detach()
    h3, c3 = fused.RUNNERS[cell](x.detach(), frozen_state, *frozen, **options)
    same(h3, h), c is None or same(c3, c)


def same(a, b):
    """Equal up to the last bit or two: the two paths write a step's ``R_t ⊙ H_{t-1}`` into
    differently placed buffers, and BLAS may pick another kernel (another rounding) for another
    alignment (seen: 1.1e-16 in float64 for the course's GRU)."""
    torch.testing.assert_close(a, b, rtol=4e-16, atol=4e-16)


@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before"])
def test_retained_graph_backward_twice(name):
    cell, _, options = CELLS[name]
    x, state0, weights = make_inputs(name)
    h_all, _ = fused.RUNNERS[cell](x, state0, *weights, **options)
    loss = h_all.square().sum()
    first = torch.autograd.grad(loss, [x, weights[1]], retain_graph=True)
    second = torch.autograd.grad(loss, [x, weights[1]])
    for a, b in zip(first, second):
        assert torch.equal(a, b)


# -- layer level, against torch.nn -------------------------------------------------------------
LAYER_CASES = {
    "1layer": dict(num_layers=1),
    "3layers_bidir": dict(num_layers=3, bidirectional=True),
    "batch_first_state": dict(num_layers=1, batch_first=True, state=True),
    "3layers_bidir_lengths_state": dict(num_layers=3, bidirectional=True, lengths=True,
                                        state=True),
    "bidir_batch_first_lengths": dict(num_layers=1, bidirectional=True, batch_first=True,
                                      lengths=True),
}
TOLERANCE = {torch.float64: 1e-8, torch.float32: 1e-5}
LENGTHS = torch.tensor([5, 7, 2, 6])  # unsorted, one full length


def run_torch_nn(module, x, state, lengths, batch_first):
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    y, final = module(packed, state)
    y, _ = pad_packed_sequence(y, batch_first=batch_first, total_length=x.shape[1 if batch_first
                                                                                 else 0])
    return y, final


def layer_problem(cell, case, dtype, seed=0):
    """``(ours, theirs, x, state, lengths, batch_first)`` with identical weights."""
    torch.manual_seed(seed)
    options = dict(LAYER_CASES[case])
    use_state, use_lengths = options.pop("state", False), options.pop("lengths", False)
    batch_first = options.get("batch_first", False)
    theirs = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](D, H, dtype=dtype, **options)
    ours = {"rnn": recurrente.RNN, "lstm": recurrente.LSTM, "gru": recurrente.GRU}[cell](
        D, H, implementation="fused", dtype=dtype, **options)
    ours.load_state_dict(theirs.state_dict())
    steps, batch = 7, 4
    x = torch.randn((batch, steps, D) if batch_first else (steps, batch, D), dtype=dtype)
    rows = options["num_layers"] * (2 if options.get("bidirectional") else 1)
    state = None
    if use_state:
        state = torch.randn(rows, batch, H, dtype=dtype)
        if cell == "lstm":
            state = (state, torch.randn(rows, batch, H, dtype=dtype))
    return ours, theirs, x, state, (LENGTHS if use_lengths else None), batch_first


def forward_and_grads(module, runner, x, state, lengths, batch_first, dtype):
    x = x.clone().requires_grad_()
    states = [] if state is None else [s.clone().requires_grad_() for s in
                                       (state if isinstance(state, tuple) else (state,))]
    s = None if not states else (tuple(states) if len(states) == 2 else states[0])
    y, final = runner(module, x, s, lengths, batch_first)
    finals = list(final) if isinstance(final, tuple) else [final]
    g = torch.Generator().manual_seed(3)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=dtype)).sum() for t in [y] + finals)
    params = [p for _, p in sorted(module.named_parameters())]
    grads = torch.autograd.grad(loss, [x] + states + params)
    return [y] + finals, grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", list(LAYER_CASES))
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layer_matches_torch_nn(cell, case, dtype):
    ours, theirs, x, state, lengths, batch_first = layer_problem(cell, case, dtype)
    ours_runner = lambda m, x, s, n, bf: m(x, s, lengths=n)  # noqa: E731
    out1, g1 = forward_and_grads(theirs, run_torch_nn, x, state, lengths, batch_first, dtype)
    out2, g2 = forward_and_grads(ours, ours_runner, x, state, lengths, batch_first, dtype)
    tol = TOLERANCE[dtype]
    for a, b in zip(out2 + list(g2), out1 + list(g1)):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("backend", ["onednn", "mkl"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layer_float32_packed_gemm_matches_torch_nn(cell, backend, monkeypatch):
    if not _force_packing(monkeypatch, backend):
        pytest.skip(f"{backend} packed GEMM not available")
    test_layer_matches_torch_nn(cell, "3layers_bidir_lengths_state", torch.float32)


@pytest.mark.parametrize("case", ["1layer", "3layers_bidir_lengths_state"])
def test_gru_reset_before_layer_matches_scratch(case):
    ours, _, x, state, lengths, batch_first = layer_problem("gru", case, torch.float64)
    ref = recurrente.GRU(D, H, implementation="scratch", reset_after=False, dtype=torch.float64,
                         num_layers=ours.num_layers, bidirectional=ours.bidirectional,
                         batch_first=batch_first)
    ours = recurrente.GRU(D, H, implementation="fused", reset_after=False, dtype=torch.float64,
                          num_layers=ours.num_layers, bidirectional=ours.bidirectional,
                          batch_first=batch_first)
    ours.load_state_dict(ref.state_dict())
    runner = lambda m, x, s, n, bf: m(x, s, lengths=n)  # noqa: E731
    out1, g1 = forward_and_grads(ref, runner, x, state, lengths, batch_first, torch.float64)
    out2, g2 = forward_and_grads(ours, runner, x, state, lengths, batch_first, torch.float64)
    for a, b in zip(out2 + list(g2), out1 + list(g1)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layer_no_grad_matches(cell):
    ours, _, x, state, lengths, _ = layer_problem(cell, "3layers_bidir_lengths_state",
                                                  torch.float32)
    y, final = ours(x, state, lengths=lengths)
    with torch.no_grad():
        y2, final2 = ours(x, state, lengths=lengths)
    assert torch.equal(y2, y)
    for a, b in zip(final2 if cell == "lstm" else [final2], final if cell == "lstm" else [final]):
        assert torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", list(CELLS))
def test_cuda_matches_cpu(name):
    x, state0, weights = make_inputs(name)
    h1, c1, g1 = run_and_grad(fused.RUNNERS, name, x, state0, weights)
    move = lambda t: None if t is None else t.detach().cuda().requires_grad_()  # noqa: E731
    state_cuda = tuple(map(move, state0)) if isinstance(state0, tuple) else move(state0)
    h2, c2, g2 = run_and_grad(fused.RUNNERS, name, move(x), state_cuda, list(map(move, weights)))
    torch.testing.assert_close(h2.cpu(), h1, atol=1e-10, rtol=0)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a.cpu(), b, atol=1e-10, rtol=0)
