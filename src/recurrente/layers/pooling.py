"""From every step's output to one vector per sequence: the many-to-one readouts.

With ``out (T, B, K*H)`` the recurrent layer's outputs for right-padded sequences of
``lengths (B,)``, and ``m_t = 1`` on real steps, ``0`` on padding:

* ``last``: ``[→H_{n}; ←H_1]``, the forward direction's state after the sequence's own last
  step ``n`` and the reverse direction's after reading back to the first: the final states the
  layer returns (never a padding step's output);
* ``mean``: ``Σ_t m_t H_t / n``;
* ``max``: ``max_t H_t`` over real steps only (padding is ``-inf`` here, not ``0``);
* ``attention``: a learned query ``q`` scores every step, the softmax runs over real steps only,
  and the scores weigh the outputs (Yang et al. 2016's word attention, one level)::

      e_t = q · tanh(H_t W_a + b_a)
      α_t = exp(e_t) m_t / Σ_s exp(e_s) m_s
      c   = Σ_t α_t H_t

Padding never changes a result: a sequence pooled in a padded batch equals the same sequence
pooled alone (a test).
"""

import torch
from torch import Tensor, nn

POOLINGS = ("last", "mean", "max", "attention")


def step_mask(lengths: Tensor, T: int) -> Tensor:
    """``(T, B)`` boolean: True on the real steps of each right-padded sequence."""
    return torch.arange(T, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)


def final_states(state, directions: int) -> Tensor:
    """The top layer's final ``H`` of every direction, side by side: ``(B, K*H)``."""
    h = state[0] if isinstance(state, tuple) else state  # (L*K, B, H); LSTMState's h
    return torch.cat(list(h[-directions:]), dim=-1)  # (B, K*H)


class Pooling(nn.Module):
    """One of :data:`POOLINGS` over ``out (T, B, F)``; see the module docstring.

    Args:
        kind: ``"last"``, ``"mean"``, ``"max"`` or ``"attention"``.
        features: ``F = K*H``, the size of each step's output.
        directions: ``K``, for ``last``.

    Call with ``out (T, B, F)``, ``lengths (B,)`` and the layer's final ``state``; returns
    ``(pooled (B, F), weights (T, B) or None)`` (``weights``: attention's ``α``).
    """

    def __init__(self, kind: str, features: int, directions: int = 1):
        super().__init__()
        if kind not in POOLINGS:
            raise ValueError(f"expected pooling {', '.join(POOLINGS)}, got {kind!r}")
        self.kind, self.directions = kind, directions
        if kind == "attention":
            self.project = nn.Linear(features, features)  # W_a, b_a
            self.query = nn.Parameter(torch.randn(features) / features ** 0.5)  # q

    def forward(self, out: Tensor, lengths: Tensor, state=None):
        if self.kind == "last":
            return final_states(state, self.directions), None
        mask = step_mask(lengths, out.shape[0]).unsqueeze(-1)  # (T, B, 1)
        if self.kind == "mean":
            total = out.masked_fill(~mask, 0.0).sum(0)  # (B, F)
            return total / lengths.to(out.dtype).unsqueeze(-1), None
        if self.kind == "max":
            return out.masked_fill(~mask, float("-inf")).amax(0), None  # (B, F)
        scores = torch.tanh(self.project(out)) @ self.query  # (T, B): e_t
        weights = torch.softmax(scores.masked_fill(~mask[..., 0], float("-inf")), dim=0)  # α_t
        return (weights.unsqueeze(-1) * out).sum(0), weights  # (B, F), (T, B)
