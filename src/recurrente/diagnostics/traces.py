"""Activation traces: run a language model one step at a time and keep everything it computes.

For every step t and every layer the trace records the state and the gates, recomputed from the
layer's own weights by the ``*_parts`` functions of :mod:`recurrente.cells` (the course's
equations, written once there), so it works whichever implementation trained the model (native,
scratch, fused)::

    Elman   H_t  = φ(X_t W_xh + b_xh + H_{t-1} W_hh + b_hh)
    LSTM    I_t, F_t, O_t = σ(X_t W_x· + H_{t-1} W_h· + b_·)     (one set of weights per gate)
            C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)
            C_t  = F_t ⊙ C_{t-1} + I_t ⊙ C~_t,       H_t = O_t ⊙ tanh(C_t)
    GRU     R_t, Z_t = σ(X_t W_x· + H_{t-1} W_h· + b_·)
            H~_t = tanh(X_t W_xh + b_xh + R_t ⊙ (H_{t-1} W_hh + b_hh))    (reset_after=True)
            H~_t = tanh(X_t W_xh + b_xh + (R_t ⊙ H_{t-1}) W_hh + b_hh)    (reset_after=False)
            H_t  = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t

The input of layer 0 is the embedding ``E_t`` of token t; the input of layer l+1 is ``H_t`` of
layer l. The model's next-token distribution ``softmax(H_t W_hq + b_q)`` is kept as its top k.
Short names of the recorded quantities (the ``--gate`` values of ``recurrente inspect``):
``h`` H_t, ``c`` C_t, ``i`` I_t, ``f`` F_t, ``o`` O_t, ``g`` C~_t, ``r`` R_t, ``z`` Z_t, ``n`` H~_t.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from recurrente.cells import GATE_NAMES, gru_parts, lstm_parts, rnn_parts
from recurrente.data.tokenizers import EOS, normalize
from recurrente.errors import UserError
from recurrente.layers.modes import evaluating

LABELS = {"h": "H_t", "c": "C_t", "i": "I_t", "f": "F_t", "o": "O_t", "g": "C~_t",
          "r": "R_t", "z": "Z_t", "n": "H~_t"}
SIGMOID = frozenset("ifozr")  # gates in (0, 1); the others are in (-1, 1) (C_t is unbounded)
GATES = {cell: tuple(sorted(GATE_NAMES[cell], key=lambda g: g not in SIGMOID))
         for cell in ("lstm", "gru")}  # the gated cells' gates: sigmoid ones, then the candidate
QUANTITIES = {"rnn": ("h",), "lstm": ("h", "c") + GATES["lstm"], "gru": ("h",) + GATES["gru"]}


@dataclass
class Trace:
    """What a model computed on one token sequence of length ``T``.

    Attributes:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        tokens: the symbol read at each step (``T`` strings).
        ids: ``(T,)`` token ids.
        layers: one dict per layer, short name (see :data:`QUANTITIES`) -> ``(T, H)`` array.
        top_ids, top_probs: ``(T, k)``: the model's k most likely next tokens after step t.
        token_prob: ``(T,)``: ``P(x_t | x_<t)``, the probability the model gave to the token
            it then read (teacher forcing: it reads the true one either way); NaN at t = 0.
    """
    cell: str
    tokens: List[str]
    ids: np.ndarray
    layers: List[Dict[str, np.ndarray]]
    top_ids: np.ndarray
    top_probs: np.ndarray
    token_prob: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.ids)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def hidden_size(self) -> int:
        return self.layers[0]["h"].shape[1]

    def values(self, layer: int, name: str) -> np.ndarray:
        """``(T, H)`` values of quantity ``name`` in ``layer``; UserError if there is none."""
        if not 0 <= layer < self.num_layers:
            raise UserError(f"expected a layer in [0, {self.num_layers - 1}], got {layer}")
        if name not in self.layers[layer]:
            raise UserError(f"the {self.cell.upper()} has no gate {name!r}; expected one of "
                            f"{', '.join(QUANTITIES[self.cell])}")
        return self.layers[layer][name]


def _step_function(rnn):
    """The step of ``rnn``'s cell with its options bound: ``(x_t, state) -> dict``."""
    if rnn.cell == "lstm":
        return lstm_parts
    if rnn.cell == "gru":
        options = {"reset_after": getattr(rnn, "reset_after", True)}
        return lambda x, s, *w: gru_parts(x, s, *w, **options)
    options = {"nonlinearity": getattr(rnn, "nonlinearity", "tanh")}
    return lambda x, s, *w: rnn_parts(x, s, *w, **options)


@torch.no_grad()
def run_steps(rnn, inputs: Tensor) -> List[Dict[str, Tensor]]:
    """Run a (unidirectional) recurrent layer over ``inputs (T, D)`` from a zero state, one step
    at a time; returns per layer a dict of ``(T, H)`` tensors."""
    if getattr(rnn, "num_directions", 1) != 1:
        raise UserError("expected a unidirectional recurrent layer; traces of bidirectional "
                        "layers are not supported")
    step, H = _step_function(rnn), rnn.hidden_size
    x = inputs  # (T, D) for layer 0, then (T, H)
    layers = []
    for layer in range(rnn.num_layers):
        weights = rnn.weights(layer, 0)
        zeros = x.new_zeros(1, H)  # (1, H)
        state = (zeros, zeros) if rnn.cell == "lstm" else zeros
        steps = []
        for t in range(x.shape[0]):
            out = step(x[t:t + 1], state, *weights)  # each (1, H)
            state = (out["h"], out["c"]) if rnn.cell == "lstm" else out["h"]
            steps.append(out)
        recorded = {k: torch.cat([s[k] for s in steps]) for k in steps[0]}  # (T, H) each
        layers.append(recorded)
        x = recorded["h"]
    return layers


@torch.no_grad()
def trace_ids(model, ids, tokens: Optional[List[str]] = None, top_k: int = 5) -> Trace:
    """Trace a :class:`~recurrente.tasks.lm.model.LanguageModel` over ``ids (T,)``."""
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long).reshape(-1)
    if ids.numel() == 0:
        raise UserError("expected a text of at least one token, got an empty one")
    device = next(model.parameters()).device
    with evaluating(model):
        emb = model.embedding(ids.to(device))  # (T, E)
        layers = run_steps(model.rnn, emb)
        probs = torch.softmax(model.head(layers[-1]["h"]).float(), dim=-1)  # (T, V)
    k = min(top_k, probs.shape[1])
    top_probs, top_ids = probs.topk(k, dim=-1)  # (T, k) each
    token_prob = torch.full((ids.numel(),), float("nan"))
    token_prob[1:] = probs[:-1].cpu().gather(1, ids[1:, None]).squeeze(1)
    return Trace(cell=model.rnn.cell, tokens=list(tokens) if tokens is not None else
                 [str(i) for i in ids.tolist()], ids=ids.numpy(),
                 layers=[{k_: v.float().cpu().numpy() for k_, v in layer.items()}
                         for layer in layers],
                 top_ids=top_ids.cpu().numpy(), top_probs=top_probs.cpu().numpy(),
                 token_prob=token_prob.numpy())


def symbols(tokenizer, text: str) -> List[str]:
    """The symbols the model reads for ``text``, one per id, as they should be displayed
    (after the tokenizer's normalisation; a word model's ``<eos>`` shows as a line end)."""
    norm = normalize(text, tokenizer.normalization)
    if tokenizer.kind == "char":
        return list(norm)
    return ["\n" if w == EOS else w for w in tokenizer._symbols(norm)]


def trace_text(model, tokenizer, text: str, top_k: int = 5) -> Trace:
    """Encode ``text`` (unseen symbols become ``<unk>``) and trace the model over it."""
    ids = tokenizer.encode(text)
    if tokenizer.vocab_size != model.vocab_size:
        raise UserError(f"the tokenizer has {tokenizer.vocab_size} ids but the model expects "
                        f"{model.vocab_size}; expected the vocabulary of the same run")
    return trace_ids(model, ids, symbols(tokenizer, text), top_k)


def load_run_model(directory):
    """``(model, tokenizer, config)`` of a language-model run directory, model in eval mode."""
    from recurrente.train.run import load_run
    try:
        run = load_run(directory, task="lm")
    except (ValueError, TypeError) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"cannot rebuild the model of {directory} ({e})") from None
    if run.model.cell not in QUANTITIES:
        raise UserError(f"{directory} is a {run.model.cell} model; gate traces and diagnostics "
                        f"are for {', '.join(QUANTITIES)} models so far")
    return run.model, run.vocabs["source"], run.config


def read_text(path, max_chars: Optional[int] = None, encoding: str = "utf-8") -> str:
    """A text file (BOM dropped, line ends normalised), cut to ``max_chars`` characters."""
    from recurrente.data.corpora import read_text_file
    path = Path(path)
    if not path.is_file():
        raise UserError(f"text file not found: {path}")
    text = read_text_file(path, encoding)
    if max_chars is not None:
        if max_chars < 1:
            raise UserError(f"expected --max-chars >= 1, got {max_chars}")
        text = text[:max_chars]
    return text
