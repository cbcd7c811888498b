"""``--precision bf16`` checked by the dtypes the kernels actually receive, not by the log: a
``TorchDispatchMode`` records every matrix product (and torch's fused RNN kernels) of one
training step, forward and backward, under the trainer's own precision policy."""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from recurrente.layers.step_gemm import bf16_available
from recurrente.tasks.lm.model import LanguageModel
from recurrente.train.precision import Precision, _onednn_bf16

PRODUCTS = ("mm", "addmm", "bmm", "linear", "_linear_pointwise", "_mkl_linear", "matmul")
RNN_KERNELS = ("lstm", "mkldnn_rnn_layer", "gru", "rnn_tanh")


class Kernels(TorchDispatchMode):
    """Every aten/mkldnn call in the block: (op name, dtypes of its floating tensor inputs)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        dtypes = {a.dtype for a in torch.utils._pytree.tree_leaves((args, kwargs or {}))
                  if torch.is_tensor(a) and a.is_floating_point()}
        self.calls.append((name, dtypes))
        return func(*args, **(kwargs or {}))

    def products(self):
        return [d for n, d in self.calls if n in PRODUCTS]

    def rnn_kernels(self):
        return [d for n, d in self.calls if n in RNN_KERNELS]


def _one_step(implementation: str, cell: str = "lstm") -> Kernels:
    torch.manual_seed(0)
    model = LanguageModel(40, cell=cell, hidden_size=128, num_layers=1,
                          implementation=implementation)
    precision = Precision("bf16", torch.device("cpu"), model)
    ids = torch.randint(0, 40, (20, 4))  # (T, B): 20 steps, so the fused path packs W_hh
    with Kernels() as seen:
        with precision.autocast():
            loss, count, _ = model.loss((ids[:-1], ids[1:]))
        precision.backward(loss / count, optimizer=None)
    assert all(p.grad is not None and p.grad.dtype == torch.float32
               for p in model.parameters() if p.requires_grad)
    return seen


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fused_products_run_in_bf16_where_the_cpu_has_it(cell):
    seen = _one_step("fused", cell)
    products = seen.products()
    assert products, "no matrix product was recorded"
    low = [d for d in products if torch.bfloat16 in d]
    if bf16_available():  # every product of the step: recurrence, projections, head, backward
        assert len(low) == len(products), products
    else:  # the recurrence in fp32; only the head's products under autocast
        assert len(low) < len(products)


def test_native_lstm_kernel_dtype_follows_onednn():
    seen = _one_step("native")
    kernels = seen.rnn_kernels()
    assert kernels, "torch's LSTM kernel was not recorded"
    if _onednn_bf16():
        assert all(torch.bfloat16 in d for d in kernels), kernels
    else:  # switched out of autocast: oneDNN has no bf16 LSTM on this CPU
        assert all(d == {torch.float32} for d in kernels), kernels
    assert any(torch.bfloat16 in d for d in seen.products())  # the head stays in autocast


def test_fp32_runs_no_bf16_at_all():
    torch.manual_seed(0)
    model = LanguageModel(40, hidden_size=64, implementation="fused")
    precision = Precision("fp32", torch.device("cpu"), model)
    ids = torch.randint(0, 40, (20, 4))
    with Kernels() as seen:
        with precision.autocast():
            loss, count, _ = model.loss((ids[:-1], ids[1:]))
        loss.backward()
    assert seen.products() and all(d <= {torch.float32} for d in seen.products())
