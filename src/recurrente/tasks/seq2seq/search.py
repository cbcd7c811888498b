"""Decoding a target sentence: greedy, sampling, and beam search, for any model.

The model enters through two functions the caller provides:

- ``step(tokens (N,) long, state) -> (log_probs (N, V), state)``: one decoder step for ``N``
  rows (feed the previous token of every row, get the next token's log-probabilities);
- ``reorder(state, index (N',) long) -> state``: the state's batch rows ``index`` (selected,
  reordered, duplicated). :func:`reorder_batch` is a default for nested tuples, NamedTuples,
  lists and dicts of tensors; :func:`make_reorder` fixes the batch dimension explicitly.

Each row must be computed independently of the others (as every recurrent decoder is): then a
sentence's result never depends on which other sentences share its batch.

``max_len (B,)`` bounds the number of tokens generated per sentence, ``eos`` included; a common
choice is ``max_lengths(source_lengths, a, b) = round(a · |source| + b)``. The returned token
lists hold neither ``bos`` nor ``eos``.
"""

import math
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from recurrente.generate.sampling import check_sampling_options, pick_next

Step = Callable[[Tensor, Any], Tuple[Tensor, Any]]
Reorder = Callable[[Any, Tensor], Any]
Lengths = Union[Sequence[int], Tensor]


# -- state and lengths --------------------------------------------------------------------------
def reorder_batch(state: Any, index: Tensor, dim: Optional[int] = None) -> Any:
    """Rows ``index`` of every tensor in ``state`` (tensors nested in tuples, lists, dicts).

    The batch dimension is ``dim`` if given, else guessed from the rank, following the
    package's time-major layout: dim 1 for tensors of 3 or more dimensions (recurrent state
    ``(L*K, B, H)``, encoder states ``(S, B, H)``, an attention mask kept as ``(S, B, 1)``), dim 0
    for 1-D and 2-D tensors (``(B,)`` lengths, ``(B, H)`` cell states and input feeding). A 2-D
    tensor with batch on dim 1, such as an ``(S, B)`` mask, needs :func:`make_reorder` (or to be
    stored as ``(B, S)``). Anything that is not a tensor (None, numbers) is shared by all rows.
    """
    if isinstance(state, Tensor):
        d = dim if dim is not None else (1 if state.dim() >= 3 else 0)
        return state.index_select(d, index.to(state.device))
    if isinstance(state, Mapping):
        return {k: reorder_batch(v, index, dim) for k, v in state.items()}
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # NamedTuple, e.g. LSTMState
        return type(state)(*(reorder_batch(v, index, dim) for v in state))
    if isinstance(state, (tuple, list)):
        return type(state)(reorder_batch(v, index, dim) for v in state)
    return state


def make_reorder(dim: Optional[int] = None, **dims: int) -> Reorder:
    """A ``reorder`` with explicit batch dimensions: ``dim`` for every tensor and, for a dict
    state, ``dims`` per top-level key, e.g. ``make_reorder(mask=1)`` for an ``(S, B)`` mask."""
    def reorder(state, index):
        if dims and isinstance(state, Mapping):
            return {k: reorder_batch(v, index, dims.get(k, dim)) for k, v in state.items()}
        return reorder_batch(state, index, dim)
    return reorder


def max_lengths(source_lengths: Lengths, a: float = 1.5, b: float = 10.0,
                cap: Optional[int] = None) -> List[int]:
    """``round(a · n + b)`` per source length ``n`` (half up), at least 1 and at most ``cap``."""
    out = []
    for n in torch.as_tensor(source_lengths).tolist():
        m = max(1, math.floor(a * n + b + 0.5))
        out.append(m if cap is None else min(m, cap))
    return out


def _check_max_len(max_len: Lengths) -> List[int]:
    if isinstance(max_len, int):
        raise ValueError(f"expected max_len as one length per sentence, (B,), got the int "
                         f"{max_len}; use [{max_len}] * B")
    lengths = torch.as_tensor(max_len).tolist()
    if not isinstance(lengths, list) or not lengths or min(lengths) < 1:
        raise ValueError(f"expected max_len of shape (B,) with every value >= 1, got {max_len}")
    return [int(n) for n in lengths]


def _device(state: Any) -> torch.device:
    """The device of the first tensor found in ``state`` (CPU if there is none)."""
    found = _first_tensor(state)
    return torch.device("cpu") if found is None else found.device


def _first_tensor(state: Any) -> Optional[Tensor]:
    if isinstance(state, Tensor):
        return state
    values = state.values() if isinstance(state, Mapping) else \
        state if isinstance(state, (tuple, list)) else ()
    for value in values:
        found = _first_tensor(value)
        if found is not None:
            return found
    return None


# -- one token per step -------------------------------------------------------------------------
def _decode(step: Step, state: Any, bos: int, eos: int, max_len: Lengths,
            pick: Callable[[Tensor], Tensor]) -> List[List[int]]:
    """Feed each row its previous token until it emits ``eos`` or reaches its ``max_len``.

    Finished rows stay in the batch (fed ``eos``) and their further tokens are discarded.
    """
    limits = _check_max_len(max_len)
    B, device = len(limits), _device(state)
    limit = torch.tensor(limits, device=device)  # (B,)
    tokens = torch.full((B,), bos, dtype=torch.long, device=device)  # (B,)
    done = torch.zeros(B, dtype=torch.bool, device=device)  # (B,)
    emitted = []  # each (B,)
    for t in range(1, max(limits) + 1):
        log_probs, state = step(tokens, state)  # (B, V)
        tokens = pick(log_probs).masked_fill(done, eos)  # (B,)
        emitted.append(tokens)
        done = done | (tokens == eos) | (limit <= t)
        if bool(done.all()):
            break
    out = []
    for row, n in zip(torch.stack(emitted, 1).tolist(), limits):  # (B, steps)
        row = row[:n]
        out.append(row[:row.index(eos)] if eos in row else row)
    return out


def greedy(step: Step, state: Any, bos: int, eos: int, max_len: Lengths) -> List[List[int]]:
    """The most likely next token at every step: ``y_t = argmax_v log p(v | y_<t, x)``.

    Args:
        step, state: the decoder (module docstring); ``state`` holds B sentences.
        bos, eos: the begin and end of sentence ids.   max_len: ``(B,)`` tokens at most, eos
            included.
    Returns:
        B lists of token ids, without bos and eos.
    """
    return _decode(step, state, bos, eos, max_len, lambda log_probs: log_probs.argmax(-1))


def sample(step: Step, state: Any, bos: int, eos: int, max_len: Lengths,
           temperature: float = 1.0, top_k: Optional[int] = None, top_p: Optional[float] = None,
           generator: Optional[torch.Generator] = None) -> List[List[int]]:
    """Draw each token from ``softmax(log p / τ)``, restricted to the top k / nucleus p.

    The transforms are :mod:`recurrente.generate.sampling`'s; temperature 0 is greedy. With a
    seeded ``generator`` the result is reproducible (for the same batch: the draws are made
    for all rows at once). Arguments and result as :func:`greedy`.
    """
    check_sampling_options(temperature, top_k, top_p)
    return _decode(step, state, bos, eos, max_len,
                   lambda log_probs: pick_next(log_probs, temperature, top_k, top_p, generator))


# -- beam search --------------------------------------------------------------------------------
def normalised(score: float, length: int, length_penalty: float) -> float:
    """``Σ log p / len^α``: the beam's ranking score; ``len`` counts the eos when there is one."""
    return score / length ** length_penalty


def _bound(score: float, t: int, limit: int, alpha: float) -> float:
    """The best normalised score any continuation of a live hypothesis can still reach.

    A continuation ends at a length ``n`` in ``[t+1, limit]`` with a summed log-probability at
    most ``score`` (log-probabilities are <= 0), so its score is at most ``score / n^α``, which is
    largest at one of the two ends of the range.
    """
    return max(score / (t + 1) ** alpha, score / limit ** alpha)


def _finish(finished, alive, final, top_s, top_beam, top_tok, history, eos, t, alpha) -> None:
    """Move the candidates marked ``final (n, K)`` into each sentence's sorted finished list."""
    K = final.shape[1]
    scores, beams, toks = (x[:, :K].tolist() for x in (top_s, top_beam, top_tok))
    for i, row in enumerate(final.tolist()):
        hyps = finished[alive[i]]
        for j in (j for j, is_final in enumerate(row) if is_final):
            words = history[i * K + beams[i][j]].tolist()  # (t-1) tokens before this one
            words += [] if toks[i][j] == eos else [toks[i][j]]
            hyps.append((normalised(scores[i][j], t, alpha), words))
        hyps.sort(key=lambda h: -h[0])  # stable: ties keep the order found


def _done(hyps: list, best_live: float, t: int, limit: int, beam: int, nbest: int,
          alpha: float) -> bool:
    """Whether a sentence's search is over (the rules are in :func:`beam_search`)."""
    if t >= limit or len(hyps) >= beam or best_live == float("-inf"):
        return True
    return len(hyps) >= nbest and _bound(best_live, t, limit, alpha) <= hyps[nbest - 1][0]


def beam_search(step: Step, state: Any, reorder: Optional[Reorder], bos: int, eos: int,
                max_len: Lengths, beam: int = 5, nbest: int = 1, length_penalty: float = 1.0
                ) -> List[List[Tuple[List[int], float]]]:
    """Beam search over B sentences at once (B·beam rows), with length normalisation.

    Each sentence keeps ``beam`` live hypotheses. At each step every live hypothesis is
    extended by every token and the ``2·beam`` best candidates (by summed log-probability) are
    considered: those ending in eos among the best ``beam`` are finished; the ``beam`` best not
    ending in eos form the next beam (so beam 1 is greedy). Finished hypotheses are ranked by

        score(y) = Σ_{i=1..n} log p(y_i | y_<i, x) / n^α,     α = length_penalty,

    where ``n`` counts the eos (the eos's probability is in the sum): ``α = 0`` is the raw
    log-probability, ``α = 1`` the mean per token. A sentence's search ends when ``beam``
    hypotheses have finished, when no live hypothesis can still beat the ``nbest``-th finished
    one (an exact bound: log-probabilities are <= 0, so this never changes the result), or at
    its ``max_len``, where the best live candidates finish without eos. Finished sentences
    leave the batch (through ``reorder``), so no sentence depends on the others.

    Args:
        step: ``(tokens (N,), state) -> (log_probs (N, V), state)``: log-probabilities, <= 0.
        state: the decoder state of the B sentences.
        reorder: ``(state, index) -> state`` selecting batch rows; None: :func:`reorder_batch`.
        bos, eos: token ids.   max_len: ``(B,)`` tokens at most per sentence, eos included.
        beam: hypotheses kept per sentence.   nbest: how many to return (1 <= nbest <= beam).
        length_penalty: α above.
    Returns:
        For each sentence, ``nbest`` pairs ``(tokens, score)`` sorted by score, best first
        (tokens without bos and eos; fewer pairs only if the model gave probability 0 to all).
    """
    if beam < 1 or not 1 <= nbest <= beam:
        raise ValueError(f"expected beam >= 1 and 1 <= nbest <= beam, got beam={beam}, "
                         f"nbest={nbest}")
    reorder = reorder or reorder_batch
    limits = _check_max_len(max_len)
    B, K, device = len(limits), beam, _device(state)
    state = reorder(state, torch.arange(B, device=device).repeat_interleave(K))  # B*K rows
    scores = torch.full((B, K), float("-inf"), device=device)  # (B, K) summed log p
    scores[:, 0] = 0.0  # one live hypothesis per sentence at first: no duplicate beams
    tokens = torch.full((B * K,), bos, dtype=torch.long, device=device)  # (B*K,)
    history = torch.empty(B * K, 0, dtype=torch.long, device=device)  # (B*K, t-1)
    alive = list(range(B))  # the sentences still searched, in row order
    finished: List[list] = [[] for _ in range(B)]  # (normalised, tokens) per sentence
    for t in range(1, max(limits) + 1):
        log_probs, state = step(tokens, state)  # (n*K, V)
        n, V = len(alive), log_probs.shape[-1]
        cand = scores.to(log_probs.dtype).unsqueeze(-1) + log_probs.view(n, K, V)  # (n, K, V)
        top_s, top_i = cand.view(n, K * V).topk(min(2 * K, K * V), dim=1)  # (n, 2K) best first
        top_beam, top_tok = top_i // V, top_i % V  # (n, 2K) each
        is_eos = top_tok == eos  # (n, 2K)
        # The next beam: the K best candidates not ending in eos (a stable sort keeps the order).
        order = torch.sort(is_eos.to(torch.uint8), dim=1, stable=True).indices[:, :K]  # (n, K)
        live_s, live_beam, live_tok = (x.gather(1, order) for x in (top_s, top_beam, top_tok))
        limit = torch.tensor([limits[s] for s in alive], device=device)  # (n,)
        at_limit = (limit <= t).unsqueeze(1)  # (n, 1)
        final = (is_eos[:, :K] | at_limit) & torch.isfinite(top_s[:, :K])  # (n, K)
        _finish(finished, alive, final, top_s, top_beam, top_tok, history, eos, t,
                length_penalty)
        best_live = live_s[:, 0].tolist()  # (n,)
        keep = [i for i, s in enumerate(alive)
                if not _done(finished[s], best_live[i], t, limits[s], K, nbest, length_penalty)]
        if not keep:
            break
        kept = torch.tensor(keep, device=device)  # (n',)
        rows = (kept.unsqueeze(1) * K + live_beam[kept]).view(-1)  # (n'*K,) rows they extend
        history = torch.cat([history[rows], live_tok[kept].view(-1, 1)], dim=1)  # (n'*K, t)
        state = reorder(state, rows)
        scores, tokens = live_s[kept], live_tok[kept].view(-1)  # (n', K), (n'*K,)
        alive = [alive[i] for i in keep]
    return [[(words, score) for score, words in hyps[:nbest]] for hyps in finished]
