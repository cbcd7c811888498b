"""NumPy-only reference of the recurrent cells, with backpropagation through time by hand.

What it is for
--------------
* **Ground truth.**  The torch implementations of recurrente are tested against these
  functions: same parameters (torch.nn's names and layouts), same outputs, same gradients.
  The reference itself is checked twice: against finite differences (:func:`gradcheck`) and,
  in the test suite, against ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` with autograd.
* **Readable BPTT.**  Each module's docstring gives the forward equations in the course's
  notation (``H_t, C_t, I_t, F_t, O_t, R_t, Z_t, H~_t``) and the backward's derivative
  equations; the code follows them one line per equation, with shape comments.

This package imports nothing but NumPy and its own modules (relative imports only), so it can be
loaded, and trusted, without torch.

Conventions
-----------
One layer, one direction, time-major.  ``x`` is (T, B, D), ``h0`` is (B, H) (the LSTM's state is
the tuple ``(h0, c0)``).  ``params`` is a dict with ``"w_ih"`` (G*H, D), ``"w_hh"`` (G*H, H),
``"b_ih"`` (G*H,), ``"b_hh"`` (G*H,), gate rows stacked as in torch.nn: G = 1 for the RNN,
4 for the LSTM (i | f | g | o), 3 for the GRU (r | z | n).  minGRU (:mod:`.mingru`) has only
``"w_ih"`` (2H, D) and ``"b_ih"`` (2H,) (rows z | n): its gates never read ``H_{t-1}``.
Arrays keep the dtype they are given.

Every cell module has::

    forward(x, state0, params, **options) -> (h_all (T, B, H), final_state, cache)
    backward(dh_all, dstate_T, cache, truncate=None) -> (dx, dstate0, dparams)

``dh_all`` is dL/dH_t for every step's output, ``dstate_T`` the gradient of the final state
(``None`` means zero; for the LSTM a tuple ``(dh_T, dc_T)`` whose entries may be ``None``); it is
added to the gradient flowing into the last step.  ``dparams`` has the keys of ``params``.

Truncation
----------
``truncate=k`` with ``1 <= k <= T`` (``None`` means full BPTT, the same as ``k = T``) treats the
state ``H_{T-k}`` (and ``C_{T-k}``) that enters the last ``k`` steps as a constant.  This is
exactly the gradient a PyTorch user gets by running the first ``T-k`` steps, calling
``.detach()`` on the state, running the last ``k`` steps, and backpropagating the loss on the
outputs of those last ``k`` steps and on the final state.  Consequences:

* only the outputs of the last ``k`` steps carry gradient: ``dh_all[t]`` for ``t < T-k`` is
  ignored;
* ``dx[t]`` is zero for the first ``T-k`` steps;
* ``dstate0`` is zero unless ``k == T``;
* the parameter gradients are sums over the last ``k`` steps only.
"""

from . import gru, lstm, mingru, rnn
from .gradcheck import CELLS, CellSpec, gradcheck, numerical_gradient, relative_error

__all__ = [
    "rnn", "lstm", "gru", "mingru",
    "CELLS", "CellSpec", "gradcheck", "numerical_gradient", "relative_error",
]
