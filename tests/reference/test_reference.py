"""Tests of recurrente.reference: finite differences, torch.nn + autograd, truncation, no torch.

The reference package is loaded on its own (``recurrente/__init__.py`` imports torch, the
reference must not), under the name ``recurrente_reference_standalone``.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "src" / "recurrente" / "reference"
STANDALONE_NAME = "recurrente_reference_standalone"

LOAD_STANDALONE = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location(
    {STANDALONE_NAME!r}, {str(REFERENCE_DIR / "__init__.py")!r},
    submodule_search_locations=[{str(REFERENCE_DIR)!r}])
module = importlib.util.module_from_spec(spec)
sys.modules[{STANDALONE_NAME!r}] = module
spec.loader.exec_module(module)
"""


def _load_reference():
    if STANDALONE_NAME not in sys.modules:
        exec(LOAD_STANDALONE, {})
    return sys.modules[STANDALONE_NAME]


ref = _load_reference()
T, B, D, H = 5, 3, 4, 5
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}
CELL_NAMES = list(GATES)


def make_problem(cell, seed=0):
    """Random float64 inputs, state, parameters and linear-loss weights for ``cell``."""
    rng = np.random.default_rng(seed)
    rows = GATES[cell] * H
    params = {"w_ih": rng.standard_normal((rows, D)) * 0.5, "w_hh": rng.standard_normal((rows, H)) * 0.5,
              "b_ih": rng.standard_normal(rows) * 0.3, "b_hh": rng.standard_normal(rows) * 0.3}
    x = rng.standard_normal((T, B, D))
    state0 = tuple(rng.standard_normal((B, H)) for _ in range(2 if cell == "lstm" else 1))
    g_outputs = rng.standard_normal((T, B, H))
    g_final = tuple(rng.standard_normal((B, H)) for _ in state0)
    return x, state0, params, g_outputs, g_final


def run_reference(cell, x, state0, params, g_outputs, g_final, truncate=None):
    spec = ref.CELLS[cell]
    unpack = (lambda s: s) if cell == "lstm" else (lambda s: s[0])
    h_all, final, cache = spec.forward(x, unpack(state0), params, **spec.kwargs)
    dx, dstate0, dparams = spec.backward(g_outputs, unpack(g_final), cache, truncate=truncate)
    final = final if cell == "lstm" else (final,)
    dstate0 = dstate0 if cell == "lstm" else (dstate0,)
    return h_all, final, dx, dstate0, dparams


def gru_reset_before_torch(x, h0, weights):
    """The Cho et al. GRU written from its formula, for autograd: ``(h_all, h_T)``."""
    w_ih, w_hh, b_ih, b_hh = weights
    w_hr, w_hz, w_hn = w_hh.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    outputs, h = [], h0
    for x_t in x:
        x_r, x_z, x_n = (x_t @ w_ih.T + b_ih).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h @ w_hr.T + b_hr)
        z = torch.sigmoid(x_z + h @ w_hz.T + b_hz)
        n = torch.tanh(x_n + (r * h) @ w_hn.T + b_hn)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs), h


def torch_runner(cell, params):
    """A function ``(x, state) -> (h_all, final_state_tuple)`` with ``params`` copied in, and the
    leaf parameter tensors by reference name."""
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    if cell == "gru_reset_before":
        weights = [tensors[n] for n in ("w_ih", "w_hh", "b_ih", "b_hh")]

        def run_formula(x, state):
            h_all, h_final = gru_reset_before_torch(x, state[0], weights)
            return h_all, (h_final,)
        return run_formula, tensors
    if cell == "lstm":
        module = torch.nn.LSTM(D, H, dtype=torch.float64)
    elif cell == "gru":
        module = torch.nn.GRU(D, H, dtype=torch.float64)
    else:
        module = torch.nn.RNN(D, H, nonlinearity=cell.split("_")[1], dtype=torch.float64)
    torch_names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}
    module.load_state_dict({torch_names[n]: torch.from_numpy(v) for n, v in params.items()})
    tensors = {n: getattr(module, torch_names[n]) for n in params}

    def run(x, state):
        state = tuple(s.unsqueeze(0) for s in state)
        out, final = module(x, state if cell == "lstm" else state[0])
        final = final if cell == "lstm" else (final,)
        return out, tuple(f.squeeze(0) for f in final)
    return run, tensors


def torch_gradients(cell, x, state0, params, g_outputs, g_final, truncate=None):
    """Autograd gradients; with ``truncate=k`` the state is detached after ``T-k`` steps and the
    loss covers the last ``k`` outputs and the final state, as the reference documents."""
    run, tensors = torch_runner(cell, params)
    x_t = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(s, requires_grad=True) for s in state0]
    split = 0 if truncate is None else T - truncate
    state = tuple(states)
    if split > 0:
        _, state = run(x_t[:split], state)
        state = tuple(s.detach() for s in state)
    h_all, final = run(x_t[split:], state)
    loss = (torch.from_numpy(g_outputs[split:]) * h_all).sum()
    loss = loss + sum((torch.from_numpy(g) * f).sum() for g, f in zip(g_final, final))
    loss.backward()
    grad = lambda t: np.zeros(t.shape) if t.grad is None else t.grad.numpy()  # noqa: E731
    return (h_all.detach().numpy(), [f.detach().numpy() for f in final], grad(x_t),
            [grad(s) for s in states], {n: grad(t) for n, t in tensors.items()})


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_gradcheck_float64(cell):
    x, state0, params, _, _ = make_problem(cell, seed=1)
    errors = ref.gradcheck(cell, x, state0 if cell == "lstm" else state0[0], params, seed=3)
    expected = {"x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"} | ({"c0"} if cell == "lstm" else set())
    assert set(errors) == expected
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_matches_torch_forward_and_autograd(cell):
    problem = make_problem(cell, seed=2)
    h_all, final, dx, dstate0, dparams = run_reference(cell, *problem)
    t_h_all, t_final, t_dx, t_dstate0, t_dparams = torch_gradients(cell, *problem)
    np.testing.assert_allclose(h_all, t_h_all, rtol=0, atol=1e-10)
    for mine, theirs in zip(final, t_final, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=1e-8)
    for mine, theirs in zip(dstate0, t_dstate0, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-8)
    for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
        np.testing.assert_allclose(dparams[name], t_dparams[name], rtol=0, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("k", [2, T])
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_truncated_backward_matches_detached_torch(cell, k):
    problem = make_problem(cell, seed=4)
    _, _, dx, dstate0, dparams = run_reference(cell, *problem, truncate=k)
    _, _, t_dx, t_dstate0, t_dparams = torch_gradients(cell, *problem, truncate=k)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=1e-8)
    assert np.all(dx[:T - k] == 0)
    for mine, theirs in zip(dstate0, t_dstate0, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-8)
        assert k == T or np.all(mine == 0)
    for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
        np.testing.assert_allclose(dparams[name], t_dparams[name], rtol=0, atol=1e-8, err_msg=name)


def test_truncate_out_of_range_is_rejected():
    problem = make_problem("rnn_tanh")
    for bad in (0, T + 1):
        with pytest.raises(ValueError):
            run_reference("rnn_tanh", *problem, truncate=bad)


def test_numerical_gradient_restores_array():
    array = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = array.copy()
    grad = ref.numerical_gradient(lambda: float(np.sum(array ** 3)), array)
    np.testing.assert_array_equal(array, before)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-8)


def test_reference_never_imports_torch():
    code = LOAD_STANDALONE + f"""
import numpy as np
assert 'torch' not in sys.modules, 'loading the reference imported torch'
assert 'recurrente' not in sys.modules, 'recurrente/__init__.py was executed'
rng = np.random.default_rng(0)
params = {{name: rng.standard_normal(shape) for name, shape in
          [('w_ih', (12, 2)), ('w_hh', (12, 3)), ('b_ih', (12,)), ('b_hh', (12,))]}}
x, h0, c0 = rng.standard_normal(({T}, 1, 2)), np.zeros((1, 3)), np.zeros((1, 3))
module.gradcheck('lstm', x, (h0, c0), params)
assert 'torch' not in sys.modules, 'running the reference imported torch'
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_reference_sources_use_relative_imports_only():
    absolute_import = re.compile(r"^\s*(import|from)\s+(torch|recurrente)\b", re.MULTILINE)
    for path in REFERENCE_DIR.glob("*.py"):
        assert not absolute_import.search(path.read_text()), path
