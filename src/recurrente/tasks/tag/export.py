"""The tagger's ONNX graph and manifest facts (:mod:`recurrente.export.onnx` asks).

``tagger``: words ``(T, B)``, ``lengths (B,)`` and each real word's letters → emissions
``(T, B, N)`` over the N tags. A softmax head's tags are the argmax of the emissions; a CRF's
are its best path, which :func:`recurrente.export.viterbi.viterbi` finds in NumPy from the
emissions and ``crf.json`` (the CRF's transitions, written beside the graph).
"""

from typing import List

import numpy as np
import torch
from torch import Tensor, nn

from recurrente.export.graphs import Graph, NativeStack, random_lengths
from recurrente.export.viterbi import crf_json
from recurrente.io import atomic_write_json
from recurrente.layers.pooling import step_mask
from recurrente.tasks.tag.data import MAX_WORD_CHARS


class TaggerGraph(nn.Module):
    """Words ``(T, B)``, ``lengths (B,)``, the real words' letters ``chars (W, N)`` with
    ``char_lengths (N,)``, and ``char_index (T, B)`` (which of the N words sits at each position;
    N for padding) → emissions ``(T, B, tags)``."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.emit, self.chars = model.embedding, model.emit, model.chars
        self.stack = NativeStack(model.rnn)
        self.char_stack = (NativeStack(model.chars.rnn) if model.chars is not None
                           and model.chars.kind == "lstm" else None)

    def forward(self, words, lengths, chars, char_lengths, char_index):
        x = self.embedding(words)  # (T, B, E)
        if self.chars is not None:
            per_word = self._letters(chars, char_lengths)  # (N, F)
            padded = torch.cat([per_word, per_word.new_zeros(1, per_word.shape[1])])  # (N+1, F)
            x = torch.cat([x, padded[char_index]], dim=-1)  # (T, B, E + F)
        out, _ = self.stack(x, None, lengths)  # (T, B, K*H)
        return self.emit(out)

    def _letters(self, chars, char_lengths):
        emb = self.chars.embedding(chars)  # (W, N, e)
        if self.char_stack is not None:
            _, last = self.char_stack(emb, None, char_lengths)  # (2, N, h)
            return torch.cat([last[0], last[1]], dim=-1)  # (N, 2h)
        feats = torch.relu(self.chars.conv(emb.permute(1, 2, 0)))  # (N, F, W)
        mask = step_mask(char_lengths, chars.shape[0]).T.unsqueeze(1)  # (N, 1, W)
        return feats.masked_fill(~mask, float("-inf")).amax(-1)  # (N, F)


def tagger_inputs(words: Tensor, lengths: Tensor, letters: List[np.ndarray]):
    """The tagger graph's inputs from padded words and the letters of the real words in
    time-major order (as the tagger's batches hold them)."""
    from recurrente.data.padded import pad
    chars, char_lengths = pad(letters, 0) if letters else (torch.zeros(1, 0, dtype=torch.long),
                                                           torch.zeros(0, dtype=torch.long))
    mask = step_mask(lengths, words.shape[0])  # (T, B)
    index = torch.full(words.shape, len(letters), dtype=torch.long)
    index[mask] = torch.arange(len(letters))
    return words, lengths, chars, char_lengths, index


def graphs(run) -> List[Graph]:
    """The one ``tagger`` graph of the run's model."""
    model = run.model
    V, C = model._config["vocab_size"], model._config["char_vocab_size"]

    def example(T, B, rng):
        words = torch.from_numpy(rng.integers(2, V, size=(T, B)))
        lengths = random_lengths(T, B, rng)
        letters = [rng.integers(2, C, size=rng.integers(1, 9))
                   for t in range(T) for b in range(B) if t < lengths[b]]
        return tagger_inputs(words, lengths, letters)

    def reference(words, lengths, chars, char_lengths, char_index):
        batch = {"words": words, "lengths": lengths, "chars": chars,
                 "char_lengths": char_lengths}
        return (model.emissions(batch),)

    axes = {"words": {0: "T", 1: "B"}, "lengths": {0: "B"}, "chars": {0: "W", 1: "N"},
            "char_lengths": {0: "N"}, "char_index": {0: "T", 1: "B"},
            "emissions": {0: "T", 1: "B"}}
    return [Graph("tagger", TaggerGraph(model),
                  ["words", "lengths", "chars", "char_lengths", "char_index"], ["emissions"],
                  axes, example, reference)]


def facts(run, folder) -> dict:
    """The manifest's task entries: ``tags`` (in the order of the emissions), ``scheme``,
    ``head``, the words' encoding (``pad_id``, ``unk_id``, ``max_word_chars``, ``lowercase``)
    and, for a CRF head, ``crf``: the file ``crf.json`` written into ``folder``."""
    model, source = run.model, run.vocabs["source"]
    facts = {"tags": model.tags, "scheme": model._config["scheme"], "pad_id": 0, "unk_id": 1,
             "max_word_chars": MAX_WORD_CHARS, "lowercase": source.lowercase,
             "head": model._config["head"]}
    if model.crf is not None:
        with torch.no_grad():
            masked = model.crf._masked(torch.float64, float("-inf"))  # trans, start, end
        atomic_write_json(folder / "crf.json", crf_json(*(t.numpy() for t in masked)))
        facts["crf"] = "crf.json"
    return facts
