"""The lab's model, its endless batches and its held-out evaluation, shaped for the Trainer.

.. math::
    (H_1 … H_T) = \\mathrm{RNN}(X_1 … X_T),   \\hat y = H_T W_{hq} + b_q   (readout "last")
    \\hat Y_t = H_t W_{hq} + b_q  for every t                             (readout "all")

Regression (adding) is scored by squared error, classification (copy, digits) by cross-entropy;
:meth:`LabModel.loss` returns *sums* with their counts, as every task of the package does.
"""

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.errors import UserError
from recurrente.layers import factory, make_layer
from recurrente.layers.modes import evaluating
from recurrente.layers.registry import DEFAULT
from recurrente.lab.tasks import LabTask, rng_for
from recurrente.tasks.base import LossOutput, Task

LSTM_FORGET_BIAS = 1.0  # Jozefowicz et al. (2015); the lab's LSTM always starts with it


@contextmanager
def user_errors():
    """Re-raise the layers' ValueError (an unknown cell or implementation, a bad size) as the
    UserError the command line reports in one sentence."""
    try:
        yield
    except UserError:
        raise
    except ValueError as e:
        raise UserError(str(e)) from None


def check_cell(cell: str) -> str:
    """``cell`` if :func:`~recurrente.layers.make_layer` knows it, else UserError: so a list of
    cells is checked before any training starts."""
    with user_errors():
        return factory.check_cell(cell)


class LabModel(Task):
    """A recurrent layer (``cell`` by name) and a linear head on ``H_T`` or on every ``H_t``.

    Args:
        input_size: D.  output_size: 1 (regression) or the number of classes.
        readout: ``"last"`` (the head sees ``H_T`` only) or ``"all"`` (every step is scored).
        cell: ``"rnn"`` (tanh Elman), ``"lstm"`` (forget bias 1) or ``"gru"``.
        hidden_size: H.  num_layers: L.  implementation: of the layer (default the library's).

    Inputs ``x (T, B, D)``; :meth:`forward` returns ``(B, O)`` or ``(T, B, O)`` by readout.
    """

    def __init__(self, input_size: int, output_size: int, readout: str = "last",
                 cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
                 implementation: str = DEFAULT):
        super().__init__()
        if readout not in ("last", "all"):
            raise ValueError(f"expected readout 'last' or 'all', got {readout!r}")
        self._config = dict(input_size=input_size, output_size=output_size, readout=readout,
                            cell=cell, hidden_size=hidden_size, num_layers=num_layers,
                            implementation=implementation)
        extra = {"forget_bias": LSTM_FORGET_BIAS} if cell == "lstm" else {}
        with user_errors():  # the layer names the valid cells and implementations
            self.rnn = make_layer(cell, input_size, hidden_size, num_layers,
                                  implementation=implementation, **extra)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor, state=None) -> Tensor:
        out, _ = self.rnn(x, state)  # (T, B, H)
        return self.readout(out)

    def readout(self, out: Tensor) -> Tensor:
        """The head on the top layer's ``out (T, B, H)``: ``(B, O)`` or ``(T, B, O)``."""
        return self.head(out[-1] if self._config["readout"] == "last" else out)

    def loss_from_outputs(self, out: Tensor, y: Tensor) -> LossOutput:
        """Summed loss of the top layer's outputs ``out (T, B, H)`` against targets ``y``."""
        pred = self.readout(out)  # (B, O) or (T, B, O)
        if self._config["output_size"] == 1:  # regression on H_T
            return ((pred.squeeze(-1) - y) ** 2).sum(), y.numel(), None
        loss_sum = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), y.reshape(-1),
                                   reduction="sum")
        return loss_sum, y.numel(), None

    def loss(self, batch, state=None) -> LossOutput:
        """``batch = (x (T, B, D), y)``; ``y`` is ``(B,)`` or ``(T, B)``. No state is carried."""
        x, y = batch
        out, _ = self.rnn(x)  # (T, B, H)
        return self.loss_from_outputs(out, y)


def build_model(task: LabTask, cell: str, hidden: int, implementation: str = DEFAULT,
                num_layers: int = 1) -> LabModel:
    return LabModel(task.input_size, task.output_size, task.readout, cell, hidden, num_layers,
                    implementation)


class SyntheticBatches:
    """Fresh data at every step: batch ``i`` of epoch ``e`` is drawn from ``rng(seed, e, i)``.

    An epoch is just ``steps_per_epoch`` batches (the data never repeat), so a run stopped and
    resumed anywhere sees the batches an uninterrupted run would.
    """
    carries_state = False

    def __init__(self, sample, batch_size: int, seed: int, steps_per_epoch: int = 100):
        self.sample, self.batch_size, self.seed = sample, batch_size, seed
        self.steps_per_epoch = steps_per_epoch

    def __len__(self) -> int:
        return self.steps_per_epoch

    def epoch(self, e: int, start: int = 0):
        for i in range(start, self.steps_per_epoch):
            x, y = self.sample(self.batch_size, rng_for(self.seed, e, i))
            yield torch.from_numpy(x), torch.from_numpy(y)  # (T, B, D), (B,) or (T, B)


class DatasetBatches:
    """Shuffled minibatches of a fixed training set ``x (T, N, D)``, ``y (N,)``; order from
    ``rng(seed, epoch)``."""
    carries_state = False

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.batch_size, self.seed = batch_size, seed

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def epoch(self, e: int, start: int = 0):
        order = torch.from_numpy(rng_for(self.seed, e).permutation(len(self.y)))
        for i in range(start, len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield self.x[:, idx], self.y[idx]  # (T, b, D), (b,)


def make_batches(task: LabTask, batch_size: int, seed: int):
    if task.sample is not None:
        return SyntheticBatches(task.sample, batch_size, seed)
    return DatasetBatches(*task.train, batch_size, seed)


def make_evaluator(task: LabTask, chunk: int = 500):
    """``evaluate(model) -> {"loss": mean loss, <metric>: value}`` on the task's held-out set."""
    x_all, y_all = (torch.from_numpy(a) for a in task.heldout)

    @torch.no_grad()
    def evaluate(model: LabModel) -> dict:
        device = next(model.parameters()).device
        loss_sum, count, correct = 0.0, 0, 0
        with evaluating(model):
            for s in range(0, y_all.shape[-1], chunk):
                x = x_all[:, s:s + chunk].to(device)  # (T, b, D)
                y = y_all[..., s:s + chunk].to(device)  # (b,) or (T, b)
                out, _ = model.rnn(x)  # (T, b, H)
                part, n, _ = model.loss_from_outputs(out, y)
                loss_sum, count = loss_sum + float(part), count + n
                if task.metric == "accuracy":
                    correct += int((model.readout(out).argmax(-1) == y).sum())
        result = {"loss": loss_sum / count}
        result[task.metric] = correct / count if task.metric == "accuracy" else result["loss"]
        return result

    return evaluate
