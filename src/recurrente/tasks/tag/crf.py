"""A linear-chain conditional random field (Lafferty et al. 2001) over per-token tag scores."""

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from recurrente.errors import UserError
from recurrente.data.schemes import allowed_transitions

# The score of a forbidden transition in the sums (log Z, gold score, marginals). Finite on
# purpose: with -inf, a tag that cannot be reached at step t gives logsumexp(-inf, ..., -inf) and
# a NaN gradient exp(-inf - -inf); with -1e30, exp(FORBIDDEN + x - max) is exactly 0 in float32
# and float64, so forbidden paths add nothing, and no inf - inf ever happens. The max-product
# searches (decode, nbest) need no gradient and use a true -inf.
FORBIDDEN = -1e30
Lengths = Union[Tensor, Sequence[int], None]


class ScoredPath(NamedTuple):
    """A path of :meth:`CRF.nbest`: ``tags``, ``score(x, y)``, ``log p(y | x) = score - log Z``."""
    tags: List[int]
    score: float
    log_prob: float


class CRF(nn.Module):
    r"""A linear-chain CRF with start and end transitions, batched over padded sequences.

    With ``N`` tags, emission scores ``emit_t(j)`` (a tagger's logits) and a tag path
    ``y = y_1 ... y_T``:

    .. math::
        score(x, y) = start[y_1] + Σ_t emit_t[y_t] + Σ_{t>1} trans[y_{t-1}, y_t] + end[y_T]
        p(y | x)    = exp(score(x, y)) / Z,        Z = Σ_y' exp(score(x, y'))

    ``log Z`` by the forward algorithm (one ``logsumexp`` per step, ``O(T N^2)``):

    .. math::
        α_1(j) = start_j + emit_1(j)
        α_t(j) = emit_t(j) + logsumexp_i(α_{t-1}(i) + trans_ij)
        log Z  = logsumexp_j(α_T(j) + end_j)
        NLL    = log Z - score(x, y_gold)

    The best path by Viterbi: the same recursion with ``max`` for ``logsumexp``, keeping
    ``bp_t(j) = argmax_i(δ_{t-1}(i) + trans_ij)`` and reading the path backwards from
    ``argmax_j(δ_T(j) + end_j)``. :meth:`nbest` keeps the ``k`` best partial paths per tag at every
    step instead of one (list Viterbi), which is exact, ties included. :meth:`marginals` adds the
    backward recursion ``β_T(i) = end_i``,
    ``β_t(i) = logsumexp_j(trans_ij + emit_{t+1}(j) + β_{t+1}(j))`` and returns
    ``p(y_t = j | x) = exp(α_t(j) + β_t(j) - log Z)``.

    Args:
        num_tags: ``N``.
        allowed: optional bool ``(N, N)``; ``allowed[i, j]`` says tag ``j`` may follow tag ``i``.
        allowed_start, allowed_end: optional bool ``(N,)``: tags that may begin, end a sequence.
            Omitted masks allow everything; :meth:`for_scheme` builds them for BIO/BIOES/IOB1.

    Forbidden entries are replaced (``masked_fill``, so they get no gradient) by ``FORBIDDEN =
    -1e30`` in ``log Z``, the gold score and the marginals, and by ``-inf`` in decoding, whose paths
    therefore never use one. A gold path that uses one is refused by :meth:`forward`.

    Inputs: emissions ``(T, B, N)``, tags ``(T, B)`` integer, lengths ``(B,)`` with values in
    ``[1, T]``, in any order (``None``: all ``T``). Positions ``t >= lengths[b]`` are padding:
    their emissions and tags never change a result (they may even be NaN).

    Example::

        >>> crf = CRF(5)
        >>> nll = crf(emissions, tags, lengths)      # (B,): sum or average it yourself
        >>> crf.decode(emissions, lengths)            # [[2, 0, 1], [4, 4], ...]
    """

    def __init__(self, num_tags: int, allowed: Optional[Tensor] = None,
                 allowed_start: Optional[Tensor] = None, allowed_end: Optional[Tensor] = None):
        super().__init__()
        if num_tags < 1:
            raise UserError(f"expected num_tags >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # (N, N): i -> j
        self.start = nn.Parameter(torch.empty(num_tags))  # (N,)
        self.end = nn.Parameter(torch.empty(num_tags))  # (N,)
        self.register_buffer("allowed", _bool_mask(allowed, (num_tags, num_tags), "allowed"))
        for name, mask in (("allowed_start", allowed_start), ("allowed_end", allowed_end)):
            self.register_buffer(name, _bool_mask(mask, (num_tags,), name))
        self.reset_parameters()

    @classmethod
    def for_scheme(cls, labels: Sequence[str], scheme: str) -> "CRF":
        """A CRF over ``labels`` whose transitions are masked to the valid ones of ``scheme``."""
        return cls(len(labels), *allowed_transitions(labels, scheme))

    def reset_parameters(self) -> None:
        for p in (self.transitions, self.start, self.end):
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    # ----------------------------------------------------------------------------- sums
    def forward(self, emissions: Tensor, tags: Tensor, lengths: Lengths = None) -> Tensor:
        """The negative log-likelihood ``log Z - score(x, y_gold)`` of each sequence, ``(B,)``."""
        emissions, lengths, mask = self._prepare(emissions, lengths)
        tags = self._prepare_tags(tags, mask)
        self._check_gold(tags, lengths, mask)
        return self._log_partition(emissions, mask) - self._score(emissions, tags, lengths, mask)

    def log_partition(self, emissions: Tensor, lengths: Lengths = None) -> Tensor:
        """``log Z`` of each sequence by the forward algorithm, ``(B,)``."""
        emissions, lengths, mask = self._prepare(emissions, lengths)
        return self._log_partition(emissions, mask)

    def score(self, emissions: Tensor, tags: Tensor, lengths: Lengths = None) -> Tensor:
        """``score(x, y)`` of each tag path, ``(B,)`` (about ``FORBIDDEN`` on a forbidden step)."""
        emissions, lengths, mask = self._prepare(emissions, lengths)
        return self._score(emissions, self._prepare_tags(tags, mask), lengths, mask)

    def marginals(self, emissions: Tensor, lengths: Lengths = None) -> Tensor:
        """``p(y_t = j | x)`` by forward-backward, ``(T, B, N)``; zero at padding positions."""
        emissions, lengths, mask = self._prepare(emissions, lengths)
        trans, start, end = self._masked(emissions.dtype, FORBIDDEN)
        alphas = self._alphas(emissions, mask, trans, start)
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)  # (B,)
        beta = end.expand_as(alphas[0])  # (B, N): β_T(i) = end_i
        betas = [beta]
        for t in range(emissions.shape[0] - 2, -1, -1):
            step = torch.logsumexp(trans + (emissions[t + 1] + beta).unsqueeze(1), dim=2)  # (B, N)
            beta = torch.where(mask[t + 1].unsqueeze(1), step, end.expand_as(step))  # (B, N)
            betas.append(beta)
        log_p = torch.stack(alphas) + torch.stack(betas[::-1]) - log_z[:, None]  # (T, B, N)
        return log_p.exp().masked_fill(~mask.unsqueeze(2), 0.0)  # (T, B, N)

    def _alphas(self, emissions: Tensor, mask: Tensor, trans: Tensor,
                start: Tensor) -> List[Tensor]:
        """α_t for every step, each ``(B, N)``; frozen at α_{lengths[b]} over the padding."""
        alpha = start + emissions[0]  # (B, N)
        alphas = [alpha]
        into = trans.T.contiguous()  # (N, N): into[j, i] = trans_ij, so i is the contiguous axis
        for t in range(1, emissions.shape[0]):
            step = emissions[t] + torch.logsumexp(alpha.unsqueeze(1) + into, dim=2)  # (B, N)
            alpha = torch.where(mask[t].unsqueeze(1), step, alpha)  # (B, N)
            alphas.append(alpha)
        return alphas

    def _log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        trans, start, end = self._masked(emissions.dtype, FORBIDDEN)
        alpha = self._alphas(emissions, mask, trans, start)[-1]  # (B, N)
        return torch.logsumexp(alpha + end, dim=1)  # (B,)

    def _score(self, emissions: Tensor, tags: Tensor, lengths: Tensor, mask: Tensor) -> Tensor:
        trans, start, end = self._masked(emissions.dtype, FORBIDDEN)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (T, B): emit_t[y_t], 0 if pad
        steps = trans[tags[:-1], tags[1:]].masked_fill(~mask[1:], 0.0)  # (T-1, B): y_{t-1} -> y_t
        last = tags.gather(0, (lengths - 1).unsqueeze(0)).squeeze(0)  # (B,): y_T of each sequence
        return start[tags[0]] + emit.sum(0) + steps.sum(0) + end[last]  # (B,)

    # ----------------------------------------------------------------------------- searches
    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Lengths = None) -> List[List[int]]:
        """The best tag path of each sequence (Viterbi), as ``B`` lists of ``lengths[b]`` ints."""
        emissions, lengths, mask = self._prepare(emissions, lengths)
        trans, start, end = self._masked(emissions.dtype, float("-inf"))
        delta = start + emissions[0]  # (B, N): δ_1
        stay = torch.arange(self.num_tags, device=delta.device).expand_as(delta)  # (B, N)
        pointers = []
        for t in range(1, emissions.shape[0]):
            best, arg = (delta.unsqueeze(2) + trans).max(dim=1)  # (B, N) each: over previous i
            live = mask[t].unsqueeze(1)  # (B, 1)
            delta = torch.where(live, emissions[t] + best, delta)  # (B, N)
            pointers.append(torch.where(live, arg, stay))  # (B, N): padding points to itself
        best, tag = (delta + end).max(dim=1)  # (B,) each
        _require_finite(best)
        path = [tag]
        for bp in reversed(pointers):
            tag = bp.gather(1, tag.unsqueeze(1)).squeeze(1)  # (B,)
            path.append(tag)
        rows = torch.stack(path[::-1], dim=1).tolist()  # (B, T)
        return [row[:n] for row, n in zip(rows, lengths.tolist())]

    @torch.no_grad()
    def nbest(self, emissions: Tensor, lengths: Lengths = None,
              k: int = 5) -> List[List[ScoredPath]]:
        """The ``k`` best paths of each sequence, best first, as :class:`ScoredPath`.

        Fewer than ``k`` come back when fewer allowed paths exist. Among tied scores the order
        is unspecified, but the paths returned are always distinct.
        """
        if not isinstance(k, int) or k < 1:
            raise UserError(f"expected k >= 1 paths, got {k!r}")
        emissions, lengths, mask = self._prepare(emissions, lengths)
        trans, start, end = self._masked(emissions.dtype, float("-inf"))
        T, B, N = emissions.shape
        delta = emissions.new_full((B, N, k), float("-inf"))  # (B, N, k): k best ending in each tag
        delta[:, :, 0] = start + emissions[0]
        stay = torch.arange(N * k, device=delta.device).view(1, N, k).expand(B, N, k)  # (B, N, k)
        pointers = []
        for t in range(1, T):
            cand = (delta.unsqueeze(3) + trans[:, None, :]).reshape(B, N * k, N)  # (B, N*k, N)
            top, arg = cand.topk(k, dim=1)  # (B, k, N) each: arg is i * k + rank
            live = mask[t].view(B, 1, 1)
            delta = torch.where(live, (top + emissions[t].unsqueeze(1)).transpose(1, 2), delta)
            pointers.append(torch.where(live, arg.transpose(1, 2), stay))  # (B, N, k)
        scores, flat = (delta + end[:, None]).reshape(B, N * k).topk(k, dim=1)  # (B, k) each
        path = [flat // k]
        for bp in reversed(pointers):
            flat = bp.reshape(B, N * k).gather(1, flat)  # (B, k)
            path.append(flat // k)
        tags = torch.stack(path[::-1], dim=2).tolist()  # (B, k, T)
        log_z = self._log_partition(emissions, mask).tolist()  # (B,)
        return [[ScoredPath(tags[b][r][:n], s, s - log_z[b])
                 for r, s in enumerate(scores[b].tolist()) if s != float("-inf")]
                for b, n in enumerate(lengths.tolist())]

    # ----------------------------------------------------------------------------- boundary
    def _masked(self, dtype: torch.dtype, fill: float) -> Tuple[Tensor, Tensor, Tensor]:
        """trans (N, N), start (N,), end (N,) in ``dtype``, forbidden entries set to ``fill``."""
        trans = self.transitions.to(dtype).masked_fill(~self.allowed, fill)  # (N, N)
        start = self.start.to(dtype).masked_fill(~self.allowed_start, fill)  # (N,)
        end = self.end.to(dtype).masked_fill(~self.allowed_end, fill)  # (N,)
        return trans, start, end

    def _prepare(self, emissions: Tensor, lengths: Lengths) -> Tuple[Tensor, Tensor, Tensor]:
        """Checked emissions (padding zeroed), lengths ``(B,)`` long and mask ``(T, B)``."""
        N = self.num_tags
        if emissions.dim() != 3 or emissions.shape[2] != N or 0 in emissions.shape:
            raise UserError(f"expected emissions of shape (T, B, {N}), "
                            f"got {tuple(emissions.shape)}")
        if not emissions.is_floating_point():
            raise UserError(f"expected floating-point emissions, got {emissions.dtype}")
        if emissions.dtype in (torch.float16, torch.bfloat16):
            emissions = emissions.float()  # sums of T scores want float32 at least
        T, B, _ = emissions.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=emissions.device)
        lengths = torch.as_tensor(lengths, device=emissions.device)
        if lengths.shape != (B,) or lengths.is_floating_point():
            raise UserError(f"expected integer lengths of shape ({B},), got {lengths.dtype} "
                            f"{tuple(lengths.shape)}")
        lengths = lengths.long()
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1 or high > T:
            raise UserError(f"expected lengths in [1, {T}], got values in [{low}, {high}]")
        mask = torch.arange(T, device=emissions.device)[:, None] < lengths[None, :]  # (T, B)
        return emissions.masked_fill(~mask.unsqueeze(2), 0.0), lengths, mask  # (T, B, N)

    def _prepare_tags(self, tags: Tensor, mask: Tensor) -> Tensor:
        """Checked tags ``(T, B)`` long on the emissions' device, padding set to tag 0."""
        if tags.shape != mask.shape or tags.is_floating_point():
            raise UserError(f"expected integer tags of shape {tuple(mask.shape)}, got {tags.dtype} "
                            f"{tuple(tags.shape)}")
        tags = tags.to(mask.device).long().masked_fill(~mask, 0)  # (T, B)
        low, high = int(tags.min()), int(tags.max())
        if low < 0 or high >= self.num_tags:
            raise UserError(f"expected tags in [0, {self.num_tags}), got values in [{low}, {high}]")
        return tags

    def _check_gold(self, tags: Tensor, lengths: Tensor, mask: Tensor) -> None:
        """Refuse gold paths with a forbidden step: their NLL would be ~1e30."""
        last = tags.gather(0, (lengths - 1).unsqueeze(0)).squeeze(0)  # (B,)
        bad = torch.cat([~self.allowed_start[tags[0]].unsqueeze(0),  # (1, B)
                         ~self.allowed[tags[:-1], tags[1:]] & mask[1:],  # (T-1, B)
                         ~self.allowed_end[last].unsqueeze(0)])  # (1, B)
        if bool(bad.any()):
            row, b = (int(i) for i in bad.nonzero()[0])
            if row == 0:
                detail = f"starts with tag {int(tags[0, b])}"
            elif row == tags.shape[0]:
                detail = f"ends with tag {int(last[b])}"
            else:
                detail = f"has tag {int(tags[row - 1, b])} -> tag {int(tags[row, b])} at step {row}"
            raise UserError(f"gold sequence {b} {detail}, which the transition mask forbids")

def _bool_mask(mask: Optional[Tensor], shape: Tuple[int, ...], name: str) -> Tensor:
    if mask is None:
        return torch.ones(shape, dtype=torch.bool)
    mask = torch.as_tensor(mask)
    if mask.shape != shape or mask.dtype != torch.bool:
        raise UserError(f"expected {name} as a bool tensor of shape {shape}, got {mask.dtype} "
                        f"{tuple(mask.shape)}")
    return mask.clone()


def _require_finite(best: Tensor) -> None:
    if not bool(torch.isfinite(best).all()):
        b = int((~torch.isfinite(best)).nonzero()[0])
        raise UserError(f"sequence {b} has no tag path allowed by the transition mask "
                        f"and the emissions")
