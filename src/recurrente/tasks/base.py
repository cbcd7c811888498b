"""The task contract every model trained by :class:`recurrente.train.Trainer` follows.

A task is an ``nn.Module`` with ``loss(batch, state=None) -> (loss_sum, count, state)``:

- ``loss_sum``: the *sum* of per-item losses in the batch (a scalar tensor with a graph);
- ``count``: how many items were summed (tokens, sequences), so metrics are sums over counts
  and never averages of averages;
- ``state``: the recurrent state to carry into the next batch (sequential partitioning), or
  ``None``. The trainer detaches it between batches: truncated backpropagation through time.

The state is the one deviation from a pure ``loss(batch)``: a module never keeps state on
``self``, so the state has to travel through the call.
"""

from typing import Any, Optional, Tuple

from torch import Tensor, nn

LossOutput = Tuple[Tensor, int, Optional[Any]]


class Task(nn.Module):
    """Base class: subclasses implement :meth:`loss`, keep their constructor arguments in
    ``self._config`` and their recurrent layer in ``self.rnn``."""

    _config: dict
    rnn: nn.Module

    def loss(self, batch, state=None) -> LossOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def config(self) -> dict:
        """Constructor arguments, JSON-able, enough to rebuild the module."""
        return dict(self._config)

    @property
    def cell(self) -> str:
        return self._config["cell"]

    def describe(self) -> str:
        """e.g. ``2x128 lstm (auto: native)``: names the kernel in use, so no slow path is silent."""
        from recurrente.layers import describe_layer
        return describe_layer(self.rnn)
