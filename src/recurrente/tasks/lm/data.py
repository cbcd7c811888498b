"""A language model's data: corpus → tokenizer → splits of ids.

Read contiguously (or by the dataset's own splits), the tokenizer fitted on the training part
only; :mod:`recurrente.tasks.lm.task` makes batches of them for the shared run plumbing.
"""

from dataclasses import dataclass

from recurrente.data.batching import split_contiguous
from recurrente.data.corpora import Corpus, load_corpus
from recurrente.data.tokenizers import CharTokenizer, WordTokenizer
from recurrente.errors import UserError
from recurrente.tasks.lm.options import LMOptions


@dataclass
class PreparedData:
    corpus: Corpus
    tokenizer: object
    splits: dict  # name -> np.ndarray of ids
    record: dict  # what config.json stores under "data"


def prepare_data(opts: LMOptions, stdin=None, tokenizer=None) -> PreparedData:
    """Load, split (contiguously, or the dataset's own splits), fit the tokenizer on train only."""
    corpus = load_corpus(opts.corpus, encoding=opts.encoding, stdin=stdin)
    if corpus.splits is not None:
        texts, kind = dict(corpus.splits), "dataset"
    else:
        bounds = split_contiguous(len(corpus.text), opts.split)
        texts = {n: corpus.text[s:e] for n, (s, e) in zip(("train", "valid", "test"), bounds)}
        kind = "contiguous"
    if tokenizer is None:
        cls = {"char": CharTokenizer, "word": WordTokenizer}.get(opts.tokenizer)
        if cls is None:
            raise UserError(f"expected --tokenizer char or word, got {opts.tokenizer!r}")
        tokenizer = cls.fit(texts["train"], opts.normalize, vocab_size=opts.vocab_size,
                            min_freq=opts.min_freq)
    splits = {name: tokenizer.encode(text) for name, text in texts.items()}
    record = {"corpus": opts.corpus, "source": corpus.source, "encoding": opts.encoding,
              "split_kind": kind, "split": list(opts.split),
              "tokens": {n: int(len(v)) for n, v in splits.items()},
              "tokenizer": opts.tokenizer, "normalize": opts.normalize}
    return PreparedData(corpus, tokenizer, splits, record)
