"""Vanishing and exploding gradients, measured: ``‖∂L/∂H_t‖`` against the distance to the loss.

With the loss on the last step only, backpropagation through time gives

.. math::
    \\frac{∂L}{∂H_t} = \\frac{∂L}{∂H_T} \\prod_{s=t+1}^{T} \\frac{∂H_s}{∂H_{s-1}},
    \\qquad \\frac{∂H_s}{∂H_{s-1}} = \\mathrm{diag}(φ'(\\cdot))\\, W_{hh}^\\top   \\text{(Elman)}

so for an Elman net the norm shrinks or grows roughly like ``(ρ(W_hh) · E[φ'])^{T-t}``: the
spectral radius ``ρ`` of the recurrent matrix decides. The LSTM adds a second path through the
memory cell, ``∂C_s/∂C_{s-1} = diag(F_s)``, which the forget gate can hold near 1; the GRU's
``H_s = Z_s ⊙ H_{s-1} + …`` does the same with its update gate.

:func:`gradient_norms` measures this on any layer (or a :class:`~recurrente.lab.model.LabModel`)
by running it one step at a time and carrying the state, so every ``H_t`` is a node of the graph
and ``torch.autograd.grad`` can return ``∂L/∂H_t`` for all of them at once (the same numbers
``retain_grad`` would keep, without touching the parameters' ``.grad``); every implementation
works, ``native`` included.
"""

from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch import Tensor

from recurrente.diagnostics.plotting import pyplot, save
from recurrente.diagnostics.spectral import spectral_radii, spectral_radius  # noqa: F401
from recurrente.errors import UserError


def _top_h(state) -> Tensor:
    """The whole ``h`` of a state, ``(L, B, H)``, whether or not it is an LSTM state."""
    return state[0] if isinstance(state, tuple) else state


def _default_loss(H: int, seed: int = 0) -> Callable[[Tensor], Tensor]:
    """``L = Σ_b v·H_T^{(b)}`` with a fixed random unit vector ``v``: a loss on the last step."""
    v = torch.randn(H, generator=torch.Generator().manual_seed(seed))
    v = v / v.norm()
    return lambda h_T: (h_T @ v.to(h_T)).sum()


def gradient_norms(module, x: Tensor, target: Optional[Tensor] = None,
                   loss_fn: Optional[Callable[[Tensor], Tensor]] = None) -> np.ndarray:
    """``‖∂L/∂H_t‖`` for every step, indexed by the distance ``k = T - t`` to the last step.

    Args:
        module: a recurrent layer (``RNN``/``LSTM``/``GRU``, one direction, any depth and
            implementation) or a model with ``.rnn`` and ``.loss_from_outputs`` (``LabModel``).
        x: input ``(T, B, D)``, time-major even for a ``batch_first`` layer.
        target: for a model, its targets; the loss is then the model's own (summed over ``B``).
        loss_fn: ``h_T (B, H) -> scalar``, a loss on the top layer's last state; default a fixed
            random projection of ``H_T`` (the loss of a layer alone is arbitrary, its decay is not).

    Returns:
        ``norms (T,)``: ``norms[k]`` is the norm of the gradient with respect to the top layer's
        ``H_{T-k}``, computed per sequence and averaged over the batch (the loss is a *sum*
        over the batch, so each sequence's gradient is its own). For the LSTM this is the
        gradient reaching ``H_t``; the path through ``C_t`` is included in it from ``t+1`` on.
    """
    layer = module.rnn if hasattr(module, "rnn") else module
    if getattr(layer, "bidirectional", False):
        raise UserError("gradient_norms needs a one-directional layer (a loss on the last step "
                        "has no meaning for the reverse direction)")
    if x.dim() != 3:
        raise UserError(f"expected x of shape (T, B, D), got {tuple(x.shape)}")
    batch_first = getattr(layer, "batch_first", False)
    tops, state = [], None
    with torch.enable_grad():
        for t in range(x.shape[0]):
            step = x[t:t + 1]  # (1, B, D)
            _, state = layer(step.transpose(0, 1) if batch_first else step, state)
            tops.append(_top_h(state))  # (L, B, H): a node of the graph, fed to step t+1
        top = torch.stack([h[-1] for h in tops])  # (T, B, H), the top layer's H_1..H_T
        loss = _loss(module, layer, top, target, loss_fn)
        grads = torch.autograd.grad(loss, tops, allow_unused=True)  # parameters' .grad untouched
    norms = [0.0 if g is None else g[-1].norm(dim=-1).mean().item() for g in grads]
    return np.array(norms[::-1])  # index k = T - t


def _loss(module, layer, top: Tensor, target, loss_fn) -> Tensor:
    if loss_fn is not None:
        return loss_fn(top[-1])
    if target is not None and hasattr(module, "loss_from_outputs"):
        return module.loss_from_outputs(top, target)[0]
    return _default_loss(layer.hidden_size)(top[-1])


def layer_spectral_radii(module) -> Dict[str, Dict[str, float]]:
    """``ρ`` of each gate block of every ``weight_hh_l{k}`` of a layer (or a model's ``.rnn``),
    keyed as the parameters are named: ``{"l0": {"i": ρ, "f": ρ, ...}, "l0_reverse": ...}``
    (see :func:`recurrente.diagnostics.spectral.spectral_radius`)."""
    layer = module.rnn if hasattr(module, "rnn") else module
    radii: Dict[str, Dict[str, float]] = {}
    for row in spectral_radii(layer):
        key = f"l{row.layer}" + ("_reverse" if row.direction else "")
        radii.setdefault(key, {})[row.gate] = row.radius
    return radii


def decay_ratio(norms: np.ndarray, distance: int) -> float:
    """``norms[distance] / norms[0]``: how much of the gradient survives ``distance`` steps."""
    distance = min(distance, len(norms) - 1)
    return float(norms[distance] / norms[0]) if norms[0] > 0 else float("nan")


def plot_gradient_norms(panels: Dict[str, Dict[str, np.ndarray]], path, dpi: int = 90) -> None:
    """One panel per entry of ``panels`` (e.g. ``"at initialisation"``, ``"after training"``),
    one line per cell: ``‖∂L/∂H_{T-k}‖`` against ``k`` on a log scale."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.3), squeeze=False,
                             sharey=True)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        for label, norms in curves.items():
            norms = np.asarray(norms, dtype=float)
            shown = np.where(norms > 0, norms, np.nan)  # exact zeros: float32 underflow, not drawn
            ax.semilogy(np.arange(len(norms)), shown, label=label, lw=1.5)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("distance to the loss, T - t")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("‖∂L/∂H_t‖ (batch mean)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=dpi)
