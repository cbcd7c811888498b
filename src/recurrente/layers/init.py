"""Parameter initialisation: torch.nn's default, plus the two options the course recommends."""

import math

import torch
from torch import nn


def default_init(layer) -> None:
    """torch.nn's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(layer.hidden_size)
    for p in layer.parameters():
        nn.init.uniform_(p, -bound, bound)


@torch.no_grad()
def orthogonal_recurrent_(layer) -> None:
    """Make each gate's ``(H, H)`` block of every ``weight_hh`` an orthogonal matrix.

    An orthogonal ``W_hh`` has all singular values 1, so at initialisation the linear part of the
    recurrence neither shrinks nor amplifies the state (Saxe et al. 2014).
    """
    for name, p in layer.named_parameters():
        if name.startswith("weight_hh"):
            for block in p.chunk(layer.gates, dim=0):  # (H, H) each
                nn.init.orthogonal_(block)


@torch.no_grad()
def forget_bias_(layer, value: float) -> None:
    """Set the LSTM's forget-gate bias to ``value`` (Jozefowicz et al. 2015 recommend 1).

    torch.nn has two biases per gate; ``b_ih``'s forget slice gets ``value`` and ``b_hh``'s gets 0,
    so their sum, the bias that enters ``F_t``, is ``value``.
    """
    H = layer.hidden_size
    for name, p in layer.named_parameters():
        if name.startswith("bias_ih"):
            p[H:2 * H].fill_(value)
        elif name.startswith("bias_hh"):
            p[H:2 * H].zero_()
