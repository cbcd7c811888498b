"""A word's vector from its letters: what lets a tagger read words it never saw in training.

For a word of characters ``c_1 … c_m`` with embeddings ``e_1 … e_m``:

* ``lstm`` (Lample et al. 2016): a BiLSTM over the characters; the word is
  ``[→h_m ; ←h_1]``, the forward state after the last letter and the backward state after the
  first, so both the suffix (``-ción``, ``-mente``) and the capitalised start count;
* ``cnn`` (Ma & Hovy 2016): ``f_j = max_i ReLU(W · [e_{i-k} … e_{i+k}] + b)_j`` over the
  letters, one max per filter.

Both read each word only up to its own length (padding letters never count).
"""

import torch
from torch import Tensor, nn

from recurrente.layers.factory import make_layer
from recurrente.layers.pooling import final_states, step_mask

CHAR_ENCODERS = ("lstm", "cnn", "none")


class CharEncoder(nn.Module):
    """``chars (W, N)`` letter ids of N words (time-major, padded with ``pad_id``) and their
    ``lengths (N,)`` → ``(N, out_size)``.

    Args:
        kind: ``"lstm"`` or ``"cnn"``.  vocab_size: letters, ``<pad>`` and ``<unk>`` included.
        embedding_size: per letter.  hidden_size: per direction (lstm) or filters (cnn).
        width: the cnn's window ``2k + 1``.  implementation: of the lstm.
    """

    def __init__(self, kind: str, vocab_size: int, embedding_size: int = 25,
                 hidden_size: int = 25, width: int = 3, pad_id: int = 0,
                 implementation: str = "auto"):
        super().__init__()
        if kind not in ("lstm", "cnn"):
            raise ValueError(f"expected a character encoder lstm or cnn, got {kind!r}")
        self.kind = kind
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        if kind == "lstm":
            self.rnn = make_layer("lstm", embedding_size, hidden_size, bidirectional=True,
                                  implementation=implementation)
            self.out_size = 2 * hidden_size
        else:
            self.conv = nn.Conv1d(embedding_size, hidden_size, width, padding=width // 2)
            self.out_size = hidden_size

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        emb = self.embedding(chars)  # (W, N, E)
        if self.kind == "lstm":
            _, state = self.rnn(emb, lengths=lengths)
            return final_states(state, 2)  # (N, 2H)
        feats = torch.relu(self.conv(emb.permute(1, 2, 0)))  # (N, F, W)
        mask = step_mask(lengths, chars.shape[0]).T.unsqueeze(1)  # (N, 1, W)
        return feats.masked_fill(~mask, float("-inf")).amax(-1)  # (N, F)
