"""Running a tagger: tag encoded sentences, score them against gold tags, and tag raw text.

``predict_sentences`` takes raw strings (tokenised by :func:`recurrente.data.sentences.tokenize`,
so each entity carries its character offsets) or token lists, and returns the tags and the
entities with a score: the mean over the entity's words of the probability of the predicted tag
(the CRF's marginals, or the softmax), so 0.98 means "the model is sure of every word of it".
"""

from dataclasses import asdict, dataclass
from typing import List, Optional

import numpy as np
import torch

from recurrente.data import schemes
from recurrente.data.sentences import Token, tokenize
from recurrente.device import move_to
from recurrente.errors import UserError
from recurrente.layers.modes import evaluating
from recurrente.tasks.tag.data import Encoded, collate, encode_words
from recurrente.tasks.tag.metrics import evaluate_tags


@dataclass
class Entity:
    """A span of words ``[start, end)`` of one type; ``score``: the mean probability of its
    words' predicted tags; ``char_start``/``char_end``: its offsets in the raw sentence (None for
    a sentence given as tokens)."""
    type: str
    start: int
    end: int
    text: str
    score: float
    char_start: Optional[int] = None
    char_end: Optional[int] = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Tagging:
    """A tagger's answer for one sentence: its tokens, a tag per token, the entities they make;
    with ``nbest > 1`` the k best tag sequences (``{"tags", "score", "probability"}`` each)."""
    tokens: List[str]
    tags: List[str]
    entities: List[Entity]
    nbest: Optional[List[dict]] = None

    def to_dict(self) -> dict:
        out = {"tokens": self.tokens, "tags": self.tags,
               "entities": [e.to_dict() for e in self.entities]}
        return out if self.nbest is None else {**out, "nbest": self.nbest}


def _batches(model, data, batch_size: int):
    """``(indices, batch on the model's device)`` in order of length, for speed."""
    device = next(model.parameters()).device
    order = np.argsort([len(w) for w in data.words], kind="stable")
    make = collate(data)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        yield idx, move_to(make(idx), device)


@torch.inference_mode()
def tag_encoded(model, data, batch_size: int = 64, nbest: int = 1, with_loss: bool = True):
    """Tag ids (or k-best lists) and per-word probabilities of every sentence, in order; and
    (``with_loss``) the summed loss of the gold tags with its word count."""
    paths, probs = [None] * len(data), [None] * len(data)
    loss, words = 0.0, 0
    with evaluating(model):
        for idx, batch in _batches(model, data, batch_size):
            best, p = model.decode(batch, nbest)  # p (T, B, N)
            if with_loss:
                loss_sum, count, _ = model.loss(batch)
                loss, words = loss + float(loss_sum), words + count
            for b, i in enumerate(idx):
                paths[i] = best[b]
                tags = best[b][0].tags if nbest > 1 else best[b]
                n = len(tags)
                probs[i] = p[torch.arange(n), b, torch.tensor(tags, device=p.device)].cpu().numpy()
    return paths, probs, loss, words


def evaluate_encoded(model, data, scheme: str, batch_size: int = 64, report: bool = False) -> dict:
    """Entity precision/recall/F1 (conlleval's reading; strict for BIOES), token accuracy and
    loss per word; with ``report``, everything :func:`~recurrente.tasks.tag.metrics.evaluate_tags`
    gives."""
    paths, _, loss, words = tag_encoded(model, data, batch_size)
    itos = model.tags
    gold = [[itos[t] for t in tags] for tags in data.tags]
    predicted = [[itos[t] for t in path] for path in paths]
    # conlleval's lenient reading, except BIOES, whose strict reading seqeval defines
    result = evaluate_tags(gold, predicted, scheme, mode="strict" if scheme == "BIOES" else
                           "default")
    if report:
        return {**result, "loss": loss / max(1, words)}
    return {"loss": loss / max(1, words), "f1": result["f1"], "precision": result["precision"],
            "recall": result["recall"], "token_accuracy": result["token_accuracy"]}


def predict_sentences(model, sentences: List, nbest: int = 1,
                      batch_size: int = 64) -> List[Tagging]:
    """Tags and entities of raw sentences (``str``) or token lists (strings, or
    :class:`~recurrente.data.sentences.Token` with offsets); see the module docstring."""
    if not model.vocabs:
        raise UserError("this model has no vocabularies; load it with SequenceTagger.load(RUN)")
    if nbest > 1 and model.crf is None:
        raise UserError("--nbest needs a CRF tagger (trained with --head crf)")
    tokens = [tokenize(s) if isinstance(s, str) else
              [t if isinstance(t, Token) else Token(t, -1, -1) for t in s] for s in sentences]
    kept = [i for i, t in enumerate(tokens) if t]
    data = Encoded([], [], [], [])
    for i in kept:
        text = [t.text for t in tokens[i]]
        word_ids, letters = encode_words(text, model.vocabs)
        data.words.append(word_ids)
        data.chars.append(letters)
        data.tags.append(np.zeros(len(text), dtype=np.int64))
        data.tokens.append(text)
    paths, probs = tag_encoded(model, data, batch_size, nbest, with_loss=False)[:2] if kept \
        else ([], [])
    results = [Tagging([], [], []) for _ in sentences]
    for k, i in enumerate(kept):
        results[i] = _result(model, tokens[i], paths[k], probs[k], nbest)
    return results


def _result(model, tokens, path, probs, nbest: int) -> Tagging:
    scheme, itos = model._config["scheme"], model.tags
    best = path[0].tags if nbest > 1 else path
    tags = [itos[t] for t in best]
    ranked = None
    if nbest > 1:
        ranked = [{"tags": [itos[t] for t in p.tags], "score": float(p.score),
                   "probability": float(np.exp(p.log_prob))} for p in path]
    return Tagging([t.text for t in tokens], tags, _entities(tokens, tags, probs, scheme), ranked)


def _entities(tokens, tags, probs, scheme: str) -> List[Entity]:
    out = []
    for kind, start, end in schemes.spans(tags, scheme):
        words = tokens[start:end]
        offsets = (words[0].start, words[-1].end) if words[0].start >= 0 else (None, None)
        out.append(Entity(kind, start, end, " ".join(t.text for t in words),
                          float(np.mean(probs[start:end])), *offsets))
    return out


def inline(tokens: List[str], entities: List[Entity]) -> str:
    """``El [PER Miguel de Cervantes] nació en [LOC Alcalá]``."""
    starts = {e.start: e for e in entities}
    parts, i = [], 0
    while i < len(tokens):
        if i in starts:
            e = starts[i]
            parts.append(f"[{e.type} {' '.join(tokens[e.start:e.end])}]")
            i = e.end
        else:
            parts.append(tokens[i])
            i += 1
    return " ".join(parts)
