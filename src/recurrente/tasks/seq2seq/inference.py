"""Running a translator: sentences in, translations out; scoring against references.

Sentences are encoded with the run's source vocabulary (a character the training sources
never had is an error in character mode, where ``<unk>`` would silently lose a letter; a
sentence over the run's ``--max-len`` is an error too), sorted by length into batches (for
speed: every row is decoded on its own, so the order changes nothing), decoded, put back in
their order and detokenised (:func:`recurrente.data.parallel.detokenize`). A translation has at
most ``round(a · |source| + b)`` tokens, and never more than :func:`output_cap` (twice the
longest source accepted, plus 10), whatever ``a`` and ``b`` say.
"""

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from recurrente.data.padded import pad
from recurrente.data.parallel import detokenize
from recurrente.data.vocab import split_text
from recurrente.device import move_to
from recurrente.errors import UserError
from recurrente.layers.modes import evaluating
from recurrente.tasks.seq2seq.data import collate
from recurrente.tasks.seq2seq.search import max_lengths

@dataclass
class Translation:
    """A translator's answer for one sentence: the best translation (``text``) and its score
    (the length-normalised log-probability of a beam, None for greedy or sampled output); with
    ``nbest > 1``, the n best ``(text, score)`` pairs, best first."""
    text: str
    score: Optional[float] = None
    nbest: Optional[List[Tuple[str, Optional[float]]]] = None

    def to_dict(self) -> dict:
        out = {"translation": self.text}
        if self.nbest is not None:
            out["nbest"] = [{"translation": t, "score": s} for t, s in self.nbest]
        return out


DEFAULT_LEN_A, DEFAULT_LEN_B = 1.5, 10.0  # at most round(a · |source| + b) output tokens
DEFAULT_MAX_LEN = 50  # a model without a run's --max-len (built in code): its source limit


def _device(model) -> torch.device:
    return next(model.parameters()).device


def encode_sources(model, sentences: Sequence[str], max_len: Optional[int] = None,
                   where: str = "sentence") -> List[Optional[np.ndarray]]:
    """Source ids of every sentence (None for an empty one); see the module docstring."""
    if not model.vocabs:
        raise UserError("this model has no vocabularies; load it with Seq2Seq.load(RUN)")
    source = model.vocabs["source"]
    if max_len is not None and not max_len >= 1:
        raise UserError(f"expected --max-len >= 1 tokens per sentence, got {max_len}")
    limit = max_len or getattr(model, "max_len", None) or 10 ** 9
    out = []
    for number, sentence in enumerate(sentences, 1):
        tokens = source.tokens(sentence)
        if not tokens:
            out.append(None)
            continue
        if len(tokens) > limit:
            raise UserError(f"{where} {number} has {len(tokens)} tokens, over the limit of "
                            f"{limit} (the run's --max-len; pass --max-len to raise it)")
        if source.split == "char":
            unseen = next((c for c in tokens if c not in source.stoi), None)
            if unseen is not None:
                raise UserError(f"{where} {number} has the character {unseen!r}, which the "
                                f"training sources never had; a character-level model cannot "
                                f"read it")
        out.append(source.encode(tokens))
    return out


def output_cap(model, max_len: Optional[int] = None) -> int:
    """The most tokens a translation may have: ``2 · L + 10`` for the longest source accepted
    ``L`` (``max_len``, or the run's ``--max-len``)."""
    return 2 * (max_len or getattr(model, "max_len", None) or DEFAULT_MAX_LEN) + 10


def decode_ids(model, sources: Sequence[np.ndarray], batch_size: int = 64,
               max_len_a: float = DEFAULT_LEN_A, max_len_b: float = DEFAULT_LEN_B,
               seed: Optional[int] = None, cap: Optional[int] = None,
               **search) -> List[List[tuple]]:
    """``model.generate`` over id arrays in batches of similar length; results in input order.
    A translation has at most ``round(a · |source| + b)`` tokens and at most ``cap`` (default
    :func:`output_cap`).

    ``search``: ``beam``, ``nbest``, ``length_penalty``, ``sample``, ``temperature``,
    ``top_k``, ``top_p``. Sampling with a ``seed`` is reproducible for the same inputs and
    ``batch_size`` (the draws are made for a whole batch at once).
    """
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    order = np.argsort([len(s) for s in sources], kind="stable")
    results: List[Optional[list]] = [None] * len(sources)
    cap = cap or output_cap(model)
    with evaluating(model):
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, lengths = pad([sources[i] for i in chunk], model._config["pad_id"])  # (S, B)
            limits = max_lengths(lengths, max_len_a, max_len_b, cap)
            found = model.generate(src.to(device), lengths.to(device), limits,
                                   generator=generator, **search)
            for i, hyps in zip(chunk, found):
                results[i] = hyps
    return results


def target_text(model, ids: Sequence[int]) -> str:
    """Target ids as text (an ``<unk>`` stays visible)."""
    target = model.vocabs["target"]
    return detokenize([target.itos[i] for i in ids], target.split)


def normalise_reference(model, text: str) -> str:
    """A reference as the model could write it: split, cased and joined as its outputs are."""
    target = model.vocabs["target"]
    return detokenize(split_text(text, target.split, target.lowercase), target.split)


def translate_texts(model, sentences: Sequence[str], beam: int = 1, nbest: int = 1,
                    batch_size: int = 64, max_len: Optional[int] = None,
                    **options) -> List[Translation]:
    """A :class:`Translation` per sentence (see
    :meth:`recurrente.tasks.seq2seq.model.Seq2Seq.translate`)."""
    check_search(beam, nbest, options)
    ids = encode_sources(model, sentences, max_len)
    present = [i for i, x in enumerate(ids) if x is not None]
    found = decode_ids(model, [ids[i] for i in present], batch_size, beam=beam, nbest=nbest,
                       cap=output_cap(model, max_len), **options) if present else []
    out = [[("", None)] for _ in sentences]
    for i, hyps in zip(present, found):
        out[i] = [(target_text(model, tokens), score) for tokens, score in hyps] or [("", None)]
    return [Translation(*hyps[0], nbest=hyps if nbest > 1 else None) for hyps in out]


def check_search(beam: int, nbest: int, options: dict) -> None:
    """One sentence for a search option out of range (before any work is done)."""
    from recurrente.generate.sampling import check_sampling_options
    if beam < 1:
        raise UserError(f"expected --beam >= 1, got {beam}")
    if not 1 <= nbest <= beam:
        raise UserError(f"expected 1 <= --nbest <= --beam, got --nbest {nbest} with --beam "
                        f"{beam}")
    if options.get("sample"):
        if beam > 1:
            raise UserError("expected either --sample or --beam above 1, got both")
        check_sampling_options(options.get("temperature", 1.0), options.get("top_k"),
                               options.get("top_p"))
    for flag, name in (("--length-penalty", "length_penalty"), ("--max-len-a", "max_len_a"),
                       ("--max-len-b", "max_len_b")):
        value = options.get(name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UserError(f"expected {flag} a finite number >= 0, got {value}")


# ----------------------------------------------------------------------------- scoring

@torch.inference_mode()
def pair_loss(model, data, batch_size: int = 64) -> tuple:
    """``(summed cross-entropy, target tokens)`` of the pairs under teacher forcing."""
    make = collate(data, model.bos_id, model.eos_id, model._config["pad_id"])
    order = np.argsort([len(s) for s in data.sources], kind="stable")
    total, count = 0.0, 0
    with evaluating(model):
        for start in range(0, len(order), batch_size):
            loss, n, _ = model.loss(move_to(make(order[start:start + batch_size]),
                                            _device(model)))
            total, count = total + float(loss), count + n
    return total, count


def score_pairs(model, data, beam: int = 1, batch_size: int = 64, **search) -> dict:
    """``{"bleu", "chrf", "exact", "hypotheses", "references"}`` of decoding the pairs'
    sources (greedy by default) against their targets."""
    from recurrente.tasks.seq2seq.metrics import corpus_scores
    found = decode_ids(model, data.sources, batch_size, beam=beam, **search)
    hypotheses = [target_text(model, hyps[0][0]) if hyps else "" for hyps in found]
    references = [normalise_reference(model, t) for _, t in data.pairs]
    return {**corpus_scores(hypotheses, references), "hypotheses": hypotheses,
            "references": references}


def evaluate_encoded(model, data, batch_size: int = 64) -> dict:
    """The trainer's evaluation: ``{"loss", "bleu", "chrf", "exact"}``, greedy decoding (the
    model's vocabularies attached: :meth:`~recurrente.tasks.base.Task.attach`)."""
    result = score_pairs(model, data, batch_size=batch_size)
    loss, count = pair_loss(model, data, batch_size)
    return {"loss": loss / max(1, count), "bleu": result["bleu"], "chrf": result["chrf"],
            "exact": result["exact"]}


# ----------------------------------------------------------------------------- attention figure

def plot_attention(model, sentence: str, output_ids: Sequence[int], path,
                   max_len: Optional[int] = None) -> None:
    """Draw the weights the decoder gave each source token while writing ``output_ids``."""
    from recurrente.diagnostics.plotting import pyplot, save
    if not model.decoder.attention.enabled:
        raise UserError("this model has no attention (trained with --attention none) to draw")
    ids = encode_sources(model, [sentence], max_len)[0]
    if ids is None:
        raise UserError("the first sentence is empty; there is no attention to draw")
    device = _device(model)
    src, lengths = pad([ids], model._config["pad_id"])  # (S, 1)
    out = torch.tensor(list(output_ids), dtype=torch.long).view(-1, 1)  # (T-1, 1)
    weights = model.attention(src.to(device), lengths.to(device), out.to(device))  # (T, S, 1)
    weights = weights[:, :, 0].float().cpu().numpy()  # (T, S)
    source = model.vocabs["source"].tokens(sentence)
    target = [model.vocabs["target"].itos[i] for i in output_ids] + ["<eos>"]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(0.45 * len(source) + 2.2, 0.4 * len(target) + 1.6))
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right")
    ax.set_yticks(range(len(target)), target)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title(f"{model._config['attention']} attention", fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi=110)
