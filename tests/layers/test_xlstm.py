"""sLSTM and mLSTM (Beck et al. 2024): the layers against a loop over the step functions and the
unstabilised equations, the mLSTM's parallel form against its loop (float64: outputs, final
states, every gradient, with lengths and carried state), the stabiliser's invariances, gradcheck,
shapes, and every place a cell name is taken (engine, decoder, bridge, the tasks' CLIs)."""

import json
import math

import pytest
import torch

from recurrente.cells.xlstm import mlstm_cell, slstm_cell
from recurrente.layers.factory import describe_layer, make_layer
from recurrente.layers.xlstm import MLSTM, SLSTM, MLSTMState, SLSTMState
from recurrente.layers.xlstm_runners import mlstm_parallel, mlstm_scratch, slstm_scratch

D64 = torch.float64
CELLS = ("slstm", "mlstm")
CASES = [("slstm", "scratch"), ("mlstm", "parallel"), ("mlstm", "scratch")]


def _random_state(cell, rows, B, H, gen):
    """A carried state: any values (``n > 0`` is not needed: the cells divide by ``n_t``)."""
    shapes = {"slstm": [(rows, B, H)] * 4,
              "mlstm": [(rows, B, H), (rows, B, H, H), (rows, B, H), (rows, B, 1)]}[cell]
    state = [torch.randn(s, generator=gen, dtype=D64) for s in shapes]
    if cell == "slstm":
        state[2] = state[2].abs() + 0.5  # n > 0, as a state the cell reached would have
    return {"slstm": SLSTMState, "mlstm": MLSTMState}[cell](*state)


def _layer(cell, impl, D, H, seed=0, **kw):
    torch.manual_seed(seed)
    return make_layer(cell, D, H, implementation=impl, **kw).double()


# -- one layer: the loop over the step functions, and the paper's unstabilised equations --------
def _unstabilised_step(cell, x_t, state, w):
    """One step without stabiliser, from the paper's equations (written here, not imported):
    ``exp`` input gate, ``σ`` forget gate, the true memory and normaliser."""
    if cell == "slstm":
        h, c, n = state
        i, f, z, o = (x_t @ w["weight_ih_l0"].T + w["bias_ih_l0"] + h @ w["weight_hh_l0"].T
                      + w["bias_hh_l0"]).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.exp(i) * torch.tanh(z)
        n = torch.sigmoid(f) * n + torch.exp(i)
        return torch.sigmoid(o) * c / n, (torch.sigmoid(o) * c / n, c, n)
    C, n = state
    H = n.shape[-1]
    q, k, v, i, f, o = (x_t @ w["weight_ih_l0"].T + w["bias_ih_l0"]).split(
        [H, H, H, 1, 1, H], -1)
    k = k / math.sqrt(H)
    C = torch.sigmoid(f)[..., None] * C + torch.exp(i)[..., None] * v[:, :, None] * k[:, None]
    n = torch.sigmoid(f) * n + torch.exp(i) * k
    den = torch.maximum((n * q).sum(-1, keepdim=True).abs(), torch.ones_like(i))
    h = torch.sigmoid(o) * (C @ q[..., None])[..., 0] / den
    return h, (C, n)


@pytest.mark.parametrize("cell,impl", CASES)
def test_one_layer_is_the_loop_of_the_step_and_the_unstabilised_equations(cell, impl):
    gen = torch.Generator().manual_seed(1)
    B, D, H, T = 3, 4, 5, 9
    x = torch.randn(T, B, D, generator=gen, dtype=D64)
    layer = _layer(cell, impl, D, H)
    with torch.no_grad():  # gates far from zero: the stabiliser has work to do
        layer.bias_ih_l0[{"slstm": slice(0, H), "mlstm": slice(3 * H, 3 * H + 1)}[cell]] += 4.0
    y, final = layer(x)
    w = dict(layer.named_parameters())
    state = tuple(torch.zeros_like(s[0]) for s in final)  # (B, ...) each
    ref_state = ((torch.zeros(B, H, dtype=D64),) * 3 if cell == "slstm"
                 else (torch.zeros(B, H, H, dtype=D64), torch.zeros(B, H, dtype=D64)))
    for t in range(T):
        if cell == "slstm":
            state = slstm_cell(x[t], state, w["weight_ih_l0"], w["weight_hh_l0"],
                               w["bias_ih_l0"], w["bias_hh_l0"])
        else:
            state = mlstm_cell(x[t], state, w["weight_ih_l0"], w["bias_ih_l0"])
        torch.testing.assert_close(y[t], state[0], rtol=1e-12, atol=1e-12)
        h_ref, ref_state = _unstabilised_step(cell, x[t], ref_state, w)
        torch.testing.assert_close(y[t], h_ref, rtol=1e-10, atol=1e-10)
    for got, want in zip(final, state):
        torch.testing.assert_close(got[0], want, rtol=1e-12, atol=1e-12)
    # the stored memory is the true one times e^{-m}
    true_memory = ref_state[1] if cell == "slstm" else ref_state[0]  # c~ or C~
    scale = torch.exp(final.m[0]) if cell == "slstm" else torch.exp(final.m[0])[..., None]
    torch.testing.assert_close(final[1][0] * scale, true_memory, rtol=1e-9, atol=1e-9)


# -- the mLSTM's parallel form against its loop --------------------------------------------------
def _run(cell, impl, x, state, lengths, seed=0, **kw):
    layer = _layer(cell, impl, x.shape[-1], 4, seed=seed, **kw)
    x = x.clone().requires_grad_()
    state = type(state)(*(s.clone().requires_grad_() for s in state))
    y, final = layer(x, state, lengths=lengths)
    loss = y.sin().sum() + sum((s * torch.linspace(-1, 1, s.numel(), dtype=D64).view_as(s))
                               .sum() for s in final)
    loss.backward()
    grads = {n: p.grad for n, p in layer.named_parameters()}
    grads.update(x=x.grad, **{f"state.{k}": s.grad for k, s in zip(state._fields, state)})
    return y, final, grads


def test_mlstm_parallel_is_its_loop_with_lengths_and_state_deep_and_bidirectional():
    """Outputs, every tensor of the final state, and the gradient of every parameter, of the
    input and of the initial state, to 1e-10 in float64."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(11, 3, 5, generator=gen, dtype=D64)
    state = _random_state("mlstm", 4, 3, 4, gen)
    lengths = torch.tensor([11, 6, 1])
    kw = dict(num_layers=2, bidirectional=True)
    y_p, final_p, grads_p = _run("mlstm", "parallel", x, state, lengths, **kw)
    y_s, final_s, grads_s = _run("mlstm", "scratch", x, state, lengths, **kw)
    torch.testing.assert_close(y_p, y_s, rtol=1e-10, atol=1e-10)
    for a, b in zip(final_p, final_s):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert set(grads_p) == set(grads_s) and len(grads_p) == 4 * 2 + 1 + 4
    for name in grads_s:
        torch.testing.assert_close(grads_p[name], grads_s[name], rtol=1e-9, atol=1e-9,
                                   msg=lambda m: f"{name}: {m}")
    assert grads_s["state.h"] is None  # the mLSTM's step never reads h_{t-1}


@pytest.mark.parametrize("T", [1, 2, 64])
def test_mlstm_parallel_is_its_loop_at_every_length(T):
    gen = torch.Generator().manual_seed(T)
    x = torch.randn(T, 2, 3, generator=gen, dtype=D64) * 2
    layer = _layer("mlstm", "parallel", 3, 6)
    y_p, s_p = layer(x)
    layer.implementation = "scratch"
    y_s, s_s = layer(x)
    torch.testing.assert_close(y_p, y_s, rtol=1e-10, atol=1e-10)
    for a, b in zip(s_p, s_s):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


# -- the stabiliser --------------------------------------------------------------------------
@pytest.mark.parametrize("cell,impl", CASES)
def test_shifting_the_stabiliser_of_the_state_changes_no_output(cell, impl):
    """``(c, n, m)`` and ``(c e^δ, n e^δ, m - δ)`` store the same memory (``c̃ = c e^m``), so
    every later output is the same: the normaliser cancels the stabiliser (mLSTM's floor
    ``exp(-m_t)`` scales with it)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(10, 2, 3, generator=gen, dtype=D64)
    state = _random_state(cell, 1, 2, 4, gen)
    layer = _layer(cell, impl, 3, 4)
    y, _ = layer(x, state)
    for delta in (-7.0, 3.0):
        shifted = type(state)(state.h, state[1] * math.exp(delta), state.n * math.exp(delta),
                              state.m - delta)
        y_shifted, _ = layer(x, shifted)
        torch.testing.assert_close(y_shifted, y, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kappa", [-6.0, 9.0])
def test_slstm_input_gate_offset_cancels_in_the_normaliser(kappa):
    """Adding ``κ`` to the input gate's pre-activation at every step multiplies the true memory
    and normaliser by ``e^κ`` (from a zero state), so no ``H_t`` changes, and nor does any
    gate that reads it."""
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(12, 3, 4, generator=gen, dtype=D64)
    layer = _layer("slstm", "scratch", 4, 5, num_layers=2)
    y, final = layer(x)
    with torch.no_grad():
        for k in (0, 1):
            getattr(layer, f"bias_ih_l{k}")[:5] += kappa  # the i rows
    y_k, final_k = layer(x)
    torch.testing.assert_close(y_k, y, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(final_k.c * torch.exp(final_k.m), final.c * torch.exp(final.m)
                               * math.exp(kappa), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell,impl", CASES)
def test_the_stabiliser_keeps_float32_finite_where_exp_overflows(cell, impl):
    """``exp(100)`` overflows float32; the stabilised gates never exceed 1."""
    torch.manual_seed(0)
    layer = make_layer(cell, 3, 4, implementation=impl)
    with torch.no_grad():
        layer.bias_ih_l0.add_(100.0)
    y, state = layer(torch.randn(20, 2, 3))
    assert torch.isfinite(y).all() and all(torch.isfinite(s).all() for s in state)
    assert torch.exp(torch.tensor(100.0)).isinf()


# -- gradcheck -------------------------------------------------------------------------------
@pytest.mark.parametrize("runner", [slstm_scratch, mlstm_parallel, mlstm_scratch],
                         ids=lambda r: r.__name__)
def test_gradcheck(runner):
    gen = torch.Generator().manual_seed(5)
    T, B, D, H = 4, 2, 3, 2
    cell = "slstm" if runner is slstm_scratch else "mlstm"
    rows = 4 * H if cell == "slstm" else 4 * H + 2
    state = [s[0] for s in _random_state(cell, 1, B, H, gen)]
    x = torch.randn(T, B, D, generator=gen, dtype=D64)
    w_ih = torch.randn(rows, D, generator=gen, dtype=D64) * 0.5
    b_ih = torch.randn(rows, generator=gen, dtype=D64) * 0.5
    w_hh = torch.randn(rows, H, generator=gen, dtype=D64) * 0.5
    lengths = torch.tensor([4, 2])
    inputs = [t.requires_grad_() for t in (x, w_ih, b_ih, w_hh, *state)]

    def f(x, w_ih, b_ih, w_hh, *state):
        if cell == "slstm":
            h, final = runner(x, state, w_ih, w_hh, b_ih, None, lengths=lengths)
        else:
            h, final = runner(x, state, w_ih, None, b_ih, None, lengths=lengths)
        return (h, *final)
    assert torch.autograd.gradcheck(f, inputs)


# -- shapes, lengths, refusals ------------------------------------------------------------------
@pytest.mark.parametrize("cell,impl", CASES)
def test_deep_bidirectional_shapes_unbatched_and_batch_first(cell, impl):
    layer = make_layer(cell, 3, 4, num_layers=2, bidirectional=True, implementation=impl)
    y, s = layer(torch.randn(7, 5, 3))
    assert y.shape == (7, 5, 8) and type(s).__name__ == cell[0].upper() + "LSTMState"
    expected = {"slstm": [(4, 5, 4)] * 4,
                "mlstm": [(4, 5, 4), (4, 5, 4, 4), (4, 5, 4), (4, 5, 1)]}[cell]
    assert [tuple(t.shape) for t in s] == expected
    torch.testing.assert_close(s.h[-2], y[-1, :, :4])  # forward's last output
    torch.testing.assert_close(s.h[-1], y[0, :, 4:])  # reverse's, at the first step
    y1, s1 = layer(torch.randn(7, 3))  # unbatched
    assert y1.shape == (7, 8) and [tuple(t.shape) for t in s1] == \
        [sh[:1] + sh[2:] for sh in expected]
    y2, s2 = layer(y1.new_zeros(7, 3), s1)  # an unbatched state carried in
    assert y2.shape == (7, 8)
    bf = make_layer(cell, 3, 4, batch_first=True, implementation=impl)
    assert bf(torch.randn(5, 7, 3))[0].shape == (5, 7, 4)


@pytest.mark.parametrize("cell,impl", CASES)
def test_padding_does_not_reach_the_state(cell, impl):
    """A sequence padded with garbage gives the same outputs and final state as alone."""
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(8, 2, 3, generator=gen, dtype=D64)
    layer = _layer(cell, impl, 3, 4, num_layers=2, bidirectional=True)
    y, s = layer(x, lengths=torch.tensor([8, 5]))
    y_alone, s_alone = layer(x[:5, 1:])
    torch.testing.assert_close(y[:5, 1:], y_alone)
    for a, b in zip(s, s_alone):
        torch.testing.assert_close(a[:, 1:], b)
    assert y[5:, 1].abs().max() == 0


@pytest.mark.parametrize("cell", CELLS)
def test_deep_bidirectional_implementations_agree_and_auto(cell):
    """Every implementation of the cell gives the layer's outputs; auto names its choice."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(9, 2, 3, generator=gen, dtype=D64)
    layer = _layer(cell, "auto", 3, 4, num_layers=2, bidirectional=True)
    y, s = layer(x, lengths=torch.tensor([9, 4]))
    for impl in {"slstm": ["scratch"], "mlstm": ["parallel", "scratch"]}[cell]:
        layer.implementation = impl
        y_i, s_i = layer(x, lengths=torch.tensor([9, 4]))
        torch.testing.assert_close(y_i, y, rtol=1e-10, atol=1e-10)
        for a, b in zip(s_i, s):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    auto = {"slstm": "scratch", "mlstm": "parallel"}[cell]
    assert describe_layer(make_layer(cell, 3, 4, num_layers=2)) == f"2x4 {cell} (auto: {auto})"


def test_refusals_are_sentences():
    with pytest.raises(ValueError, match="'parallel'; expected one of auto, scratch$"):
        SLSTM(3, 4, implementation="parallel")
    with pytest.raises(ValueError, match="SLSTM has no 'native' implementation; expected one of"):
        SLSTM(3, 4, implementation="native")
    with pytest.raises(ValueError, match="MLSTM has no 'fused' implementation"):
        MLSTM(3, 4, implementation="fused")
    with pytest.raises(ValueError, match="no recurrent weight"):
        MLSTM(3, 4, weight_dropout=0.2)
    with pytest.raises(ValueError, match="no recurrent weight"):
        MLSTM(3, 4, recurrent_init="orthogonal")
    with pytest.raises(ValueError, match=r"expected the mLSTM state's C of shape \(1, 2, 4, 4\)"):
        MLSTM(3, 4)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4),) * 4)
    with pytest.raises(ValueError, match=r"expected the sLSTM state to be a tuple \(h, c, n, m\)"):
        SLSTM(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))


def test_slstm_takes_weight_dropout_and_orthogonal_init_on_its_w_hh():
    layer = SLSTM(3, 4, weight_dropout=0.5, recurrent_init="orthogonal").train()
    block = layer.weight_hh_l0[:4].detach()
    torch.testing.assert_close(block @ block.T, torch.eye(4), rtol=1e-5, atol=1e-5)
    y, _ = layer(torch.randn(5, 2, 3))
    y.sum().backward()
    assert layer.weight_hh_l0.grad.abs().sum() > 0
    names = [n for n, _ in MLSTM(3, 4, num_layers=2).named_parameters()]
    assert names == ["weight_ih_l0", "bias_ih_l0", "weight_ih_l1", "bias_ih_l1"]
    assert MLSTM(3, 4).weight_ih_l0.shape == (18, 3)


def test_a_plain_tuple_state_is_taken_in_order():
    layer = MLSTM(3, 4)
    _, s = layer(torch.randn(5, 2, 3))
    y1, _ = layer(torch.randn(5, 2, 3).fill_(0.5), s)
    y2, _ = layer(torch.randn(5, 2, 3).fill_(0.5), tuple(s))
    torch.testing.assert_close(y1, y2)


# -- single-step cells (the translator's decoder) and the bridge -----------------------------
@pytest.mark.parametrize("cell", CELLS)
def test_the_single_step_cell_steps_the_layers_weights_exactly(cell):
    from recurrente.layers.xlstm_cell_modules import MLSTMCell, SLSTMCell
    layer_class, cell_class = {"slstm": (SLSTM, SLSTMCell), "mlstm": (MLSTM, MLSTMCell)}[cell]
    layer = layer_class(5, 7).double()
    step = cell_class(5, 7).double()
    step.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(9, 3, 5, dtype=D64)
    out, final = layer(x)
    state = None
    for t in range(9):
        state = step(x[t], state)
        torch.testing.assert_close(state[0], out[t], rtol=0, atol=1e-12)
    for a, b in zip(state, final):
        torch.testing.assert_close(a, b[0], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="has no 'fused' implementation; expected one of"):
        cell_class(5, 7, implementation="fused")


@pytest.mark.parametrize("cell", CELLS)
def test_the_bridge_carries_the_memory_over(cell):
    """The decoder's first state holds the encoder's memory as it is: the true memory ``c e^m``
    of each direction, side by side (sLSTM) or as the blocks of one matrix (mLSTM)."""
    from recurrente.tasks.seq2seq.model import Bridge
    gen = torch.Generator().manual_seed(8)
    L, K, B, Hk = 2, 2, 3, 4
    final = _random_state(cell, L * K, B, Hk, gen)
    bridge = Bridge(K * Hk, L, K, False, memory=cell).double()
    states = bridge(final)
    assert len(states) == L and type(states[0]) is type(final)
    for l, s in enumerate(states):
        assert s.h.shape == (B, K * Hk)
        for k in range(K):
            rows = slice(k * Hk, (k + 1) * Hk)
            if cell == "slstm":
                torch.testing.assert_close(s.c[:, rows], final.c[l * K + k])
                torch.testing.assert_close(s.m[:, rows], final.m[l * K + k])
            else:
                true = s.C * torch.exp(s.m)[..., None]  # (B, H, H)
                want = final.C[l * K + k] * torch.exp(final.m[l * K + k])[..., None]
                torch.testing.assert_close(true[:, rows, rows], want)
                torch.testing.assert_close((s.n * torch.exp(s.m))[:, rows],
                                           final.n[l * K + k] * torch.exp(final.m[l * K + k]))
        if cell == "mlstm":
            assert s.C[:, :Hk, Hk:].abs().max() == 0 and s.C.shape == (B, K * Hk, K * Hk)


# -- the language model's generation ---------------------------------------------------------
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch", [1, 3])
def test_engine_steps_match_forward(cell, batch):
    from recurrente import LanguageModel
    from recurrente.generate.engine import GenerationEngine
    torch.manual_seed(0)
    model = LanguageModel(23, cell=cell, hidden_size=16, num_layers=3, embedding_size=8).eval()
    ids = torch.randint(0, 23, (12, batch))
    with torch.no_grad():
        expected, _ = model(ids)  # (12, B, V)
    engine = GenerationEngine(model, batch)
    logits, state = engine.prime(ids[:4])
    torch.testing.assert_close(logits, expected[3])
    for t in range(4, 12):
        logits, state = engine.step(ids[t], state)
        torch.testing.assert_close(logits, expected[t], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_generation_is_the_forwards_argmax(cell):
    from recurrente import LanguageModel
    from recurrente.tasks.lm.inference import generate_batch
    torch.manual_seed(1)
    model = LanguageModel(17, cell=cell, hidden_size=12, num_layers=2).eval()
    prompt = [3, 1, 4, 1, 5]
    got = generate_batch(model, [prompt], 10, temperature=0, seed=0)[0]
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(10):
            logits, _ = model(torch.tensor(ids).unsqueeze(1))  # (T, 1, V): the whole forward
            ids.append(int(logits[-1, 0].argmax()))
    assert got == ids


# -- every task's CLI: train two steps, then predict or generate --------------------------------
@pytest.mark.parametrize("cell", CELLS)
def test_language_model_trains_resumes_samples_and_refuses_export(cell, tmp_path, capsys):
    from recurrente.cli.main import main
    corpus = tmp_path / "abc.txt"
    corpus.write_text("abcabcabd " * 200, encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", str(corpus), "--out", str(out), "--cell", cell, "--hidden", "8",
            "--layers", "2", "--seq-len", "8", "--batch-size", "4", "--json"]
    assert main(args + ["--max-steps", "2"]) == 0
    assert main(args + ["--max-steps", "4", "--resume"]) == 0  # the carried state comes back
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["implementation"] == {"slstm": "scratch", "mlstm": "parallel"}[cell]
    assert main(["sample", str(out), "-n", "20", "--seed", "0"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 10
    for argv in (["export", str(out), "--out", str(tmp_path / "onnx")],
                 ["diagnose", str(out)]):
        assert main(argv) != 0
        assert cell in capsys.readouterr().err
    assert not (tmp_path / "onnx").exists()


@pytest.mark.parametrize("cell", CELLS)
def test_classifier_trains_and_predicts(cell, tmp_path, capsys):
    from recurrente.cli.main import main
    from tests.classify_fixtures import order_examples, write_csv
    data = write_csv(tmp_path / "train.csv", order_examples(120, seed=2))
    out = tmp_path / "run"
    assert main(["classify", "train", str(data), "--out", str(out), "--cell", cell,
                 "--hidden", "8", "--max-steps", "2", "--quiet"]) == 0
    (tmp_path / "t.txt").write_text("uno dos tres\ncuatro\n")
    capsys.readouterr()
    assert main(["classify", "predict", str(out), str(tmp_path / "t.txt"), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize("cell", CELLS)
def test_tagger_trains_and_predicts(cell, tmp_path, capsys):
    from recurrente.cli.main import main
    from tests.tag_fixtures import entity_sentences, write_conll
    data = write_conll(tmp_path / "train.txt", entity_sentences(60, seed=2))
    out = tmp_path / "run"
    assert main(["tag", "train", str(data), "--out", str(out), "--cell", cell,
                 "--hidden", "8", "--max-steps", "2", "--quiet"]) == 0
    (tmp_path / "t.txt").write_text("ayer Ana dijo que llueve\nel pan\n")
    capsys.readouterr()
    assert main(["tag", "predict", str(out), str(tmp_path / "t.txt"), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize("cell", CELLS)
def test_translator_trains_and_translates_greedy_and_beam(cell, tmp_path, capsys):
    from recurrente.cli.main import main
    from tests.translate_fixtures import reverse_pairs, write_tsv
    data = write_tsv(tmp_path / "pairs.tsv", reverse_pairs(200, seed=0, low=2, high=6))
    out = tmp_path / "run"
    assert main(["translate", "train", str(data), "--out", str(out), "--cell", cell,
                 "--hidden", "8", "--layers", "2", "--max-steps", "2", "--quiet"]) == 0
    (tmp_path / "in.txt").write_text("a b c\nd e\n")
    for beam in ("1", "3"):
        capsys.readouterr()
        assert main(["translate", "predict", str(out), str(tmp_path / "in.txt"),
                     "--beam", beam]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 2


def test_bf16_autocast_runs():
    for cell in CELLS:
        layer = make_layer(cell, 4, 8)
        x = torch.randn(6, 2, 4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, _ = layer(x)
        torch.testing.assert_close(y.float(), layer(x)[0], rtol=0.1, atol=0.1)
