"""``recurrente lab caption``: one-to-many, the course's image captioning in miniature.

scikit-learn's bundled 8×8 digit images (no download) are "captioned" with the Spanish name of
the digit, letter by letter: the decoder of the translator (:mod:`recurrente.tasks.seq2seq.
decoder`, without attention) conditioned on a vector instead of an encoded sentence::

    v     = x ∈ [0, 1]^64                         the image, 8×8 pixels row by row
    s_0^l = tanh(W_v v + b_v)                     (an LSTM's memory cell: its own W, b)
    P(y_t | y_<t, v) = decoder(y_{t-1}, s_{t-1})  y = "s i e t e <eos>"

trained with teacher forcing on the training images and scored by greedy decoding on held-out
ones: exact match (the whole name right) and character error rate (``Σ edit distance / Σ
reference letters``). A logistic regression reading the whole image is the reference: a
caption that is exactly right is a correct classification, spelled out.
"""

import json
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.data.padded import BucketBatches, pad
from recurrente.data.vocab import BOS, EOS, PAD, UNK, Vocab
from recurrente.io import atomic_write_text
from recurrente.layers.modes import evaluating
from recurrente.layers.pooling import step_mask
from recurrente.layers.registry import DEFAULT
from recurrente.layers.state import LSTMState
from recurrente.tasks.base import LossOutput, Task
from recurrente.tasks.seq2seq import search
from recurrente.tasks.seq2seq.decoder import Decoder
from recurrente.tasks.seq2seq.metrics import error_rate, exact_match
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer

NAMES = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
CAPTIONS_PNG, CAPTION_JSON = "captions.png", "caption.json"
DEFAULTS = {"hidden": 64, "lr": 3e-3, "batch_size": 64, "embedding": 16}


def letters() -> Vocab:
    """``<pad> <unk> <bos> <eos>`` and the letters of the ten names."""
    return Vocab([PAD, UNK, BOS, EOS] + sorted(set("".join(NAMES))), (PAD, UNK, BOS, EOS),
                 split="char")


class Captioner(Task):
    """Image → initial decoder state → a caption, letter by letter (module docstring).

    Args:
        image_size: pixels per image (64).  vocab_size: letters and specials.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.  hidden_size: H.  embedding_size: E.
        implementation: of the decoder's cells.

    :meth:`loss` takes ``(images (B, 64), tgt_in (T, B), tgt_out (T, B), tgt_lengths (B,))``.
    """

    def __init__(self, image_size: int, vocab_size: int, cell: str = "lstm",
                 hidden_size: int = 64, embedding_size: int = 16,
                 implementation: str = DEFAULT, bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        self._config = dict(image_size=image_size, vocab_size=vocab_size, cell=cell,
                            hidden_size=hidden_size, embedding_size=embedding_size,
                            implementation=implementation, bos_id=bos_id, eos_id=eos_id)
        self.image_h = nn.Linear(image_size, hidden_size)
        self.image_c = nn.Linear(image_size, hidden_size) if cell == "lstm" else None
        self.decoder = Decoder(vocab_size, embedding_size, hidden_size, 1, cell,
                               attention="none", implementation=implementation)
        self.rnn = self.decoder.cells[0]  # what describe() names

    def describe(self) -> str:
        cell = self.rnn
        running = cell.resolved_implementation()
        return f"image → 1x{cell.hidden_size} {self.cell} decoder ({running})"

    def initial_state(self, images: Tensor) -> dict:
        """``images (B, 64)`` -> the decoder state before ``<bos>``."""
        h = torch.tanh(self.image_h(images))  # s_0 (B, H)
        if self.image_c is not None:
            h = LSTMState(h, torch.tanh(self.image_c(images)))
        return self.decoder.init_state([h])

    def loss(self, batch, state=None) -> LossOutput:
        images, tgt_in, tgt_out, lengths = batch
        mask = step_mask(lengths, tgt_in.shape[0])  # (T, B)
        logits = self.decoder(tgt_in, self.initial_state(images), mask=mask)  # (N, V)
        return F.cross_entropy(logits, tgt_out[mask], reduction="sum"), int(mask.sum()), None

    @torch.inference_mode()
    def caption(self, images: Tensor, max_len: int = 10) -> List[List[int]]:
        """Greedy letter ids of each image's caption (without ``<bos>``/``<eos>``)."""
        c = self._config
        return search.greedy(self.decoder.log_probs, self.initial_state(images), c["bos_id"],
                             c["eos_id"], [max_len] * images.shape[0])


# ----------------------------------------------------------------------------- data

def caption_ids(vocab: Vocab, labels: np.ndarray) -> List[np.ndarray]:
    return [vocab.encode(list(NAMES[int(d)])) for d in labels]


def make_batches(images: np.ndarray, labels: np.ndarray, vocab: Vocab, batch_size: int,
                 seed: int) -> BucketBatches:
    """Shuffled batches ``(images (B, 64), tgt_in, tgt_out, tgt_lengths)``."""
    ids = caption_ids(vocab, labels)
    x = torch.from_numpy(images)

    def collate(indices):
        tgt_in, lengths = pad([np.concatenate([[vocab.bos_id], ids[i]]) for i in indices], 0)
        tgt_out, _ = pad([np.concatenate([ids[i], [vocab.eos_id]]) for i in indices], 0)
        return x[indices], tgt_in, tgt_out, lengths
    return BucketBatches([len(i) for i in ids], collate, batch_size, seed)


def evaluate(model: Captioner, images: np.ndarray, labels: np.ndarray, vocab: Vocab) -> dict:
    """Exact match and character error rate of greedy captions, and the captions."""
    with evaluating(model):
        found = model.caption(torch.from_numpy(images))
    captions = ["".join(vocab.itos[i] for i in ids) for ids in found]
    truth = [NAMES[int(d)] for d in labels]
    return {"exact": exact_match(captions, truth), "cer": error_rate(captions, truth),
            "captions": captions}


def digit_images():
    """``{"train": (images (n, 64), digits (n,)), "test": ...}``: the lab's fixed split."""
    from recurrente.lab.tasks import load_digit_splits
    splits = load_digit_splits()
    return {name: (np.ascontiguousarray(x[:, :, 0].T), y) for name, (x, y) in splits.items()}


# ----------------------------------------------------------------------------- the experiment

def train_captioner(cell: str, time_budget: Optional[float], seed: int = 0,
                    hidden: Optional[int] = None, implementation: str = DEFAULT,
                    lr: Optional[float] = None, batch_size: Optional[int] = None,
                    max_steps: Optional[int] = None, splits=None, progress: bool = False):
    """Train one captioner for ``time_budget`` seconds (or ``max_steps``); return
    ``(model, result)`` with held-out ``exact``, ``cer`` and the run's numbers."""
    from recurrente.lab.model import user_errors
    from recurrente.lab.run import BudgetBar
    splits = splits or digit_images()
    vocab = letters()
    hidden, lr = hidden or DEFAULTS["hidden"], lr or DEFAULTS["lr"]
    batch_size = batch_size or DEFAULTS["batch_size"]
    torch.manual_seed(seed)
    with user_errors():
        model = Captioner(64, len(vocab), cell, hidden, DEFAULTS["embedding"], implementation,
                          vocab.bos_id, vocab.eos_id)
    config = TrainConfig(optimizer="adamw", lr=lr, clip=1.0, schedule="cosine",
                         time_budget=time_budget, max_steps=max_steps, eval_every=10 ** 9,
                         seed=seed, device="cpu")
    test = splits["test"]
    bar = BudgetBar(f"caption {cell}", time_budget or max_steps, "exact", progress,
                    by_steps=not time_budget)
    started = time.perf_counter()
    trainer = Trainer(model, make_batches(*splits["train"], vocab, batch_size, seed), config,
                      callbacks=[bar])
    p = trainer.fit()
    scores = evaluate(model, *test, vocab)
    return model, {"cell": cell, "exact": scores["exact"], "cer": scores["cer"],
                   "steps": p.step, "train_seconds": round(p.elapsed, 2),
                   "wall_seconds": round(time.perf_counter() - started, 2), "hidden": hidden,
                   "lr": lr, "batch_size": batch_size, "seed": seed,
                   "test_images": len(test[1]), "captions": scores["captions"]}


def run_caption(cells, time_budget: Optional[float], seed: int = 0, out_dir=None,
                hidden: Optional[int] = None, implementation: str = DEFAULT,
                lr: Optional[float] = None, batch_size: Optional[int] = None,
                max_steps: Optional[int] = None, progress: bool = False) -> List[dict]:
    """Every cell under the same budget; writes ``caption.json`` and ``captions.png``."""
    from recurrente.lab.tasks import logistic_baseline, load_digit_splits
    splits = digit_images()
    baseline = logistic_baseline(load_digit_splits())
    results = []
    for cell in cells:
        _, result = train_captioner(cell, time_budget, seed, hidden, implementation, lr,
                                    batch_size, max_steps, splits, progress)
        result["baseline_accuracy"] = baseline
        results.append(result)
    if out_dir is not None:
        out = Path(out_dir)
        atomic_write_text(out / CAPTION_JSON, json.dumps(results, indent=1) + "\n")
        plot_captions(splits["test"], results[-1], out / CAPTIONS_PNG)
    return results


def plot_captions(test, result: dict, path, n: int = 24) -> None:
    """A grid of ``n`` held-out images titled with their generated captions: up to a third of
    them the mistakes (red, the right name in brackets), the rest the first right ones."""
    from recurrente.diagnostics.plotting import pyplot, save
    images, digits = test
    said = result["captions"]
    wrong = [k for k in range(len(digits)) if said[k] != NAMES[int(digits[k])]]
    right = [k for k in range(len(digits)) if said[k] == NAMES[int(digits[k])]]
    shown = wrong[:n // 3] + right[:n - min(len(wrong), n // 3)]
    plt = pyplot()
    cols = 8
    rows = max(1, (len(shown) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.35 * cols, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, k in zip(axes.flat, shown):
        ax.imshow(images[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        truth = NAMES[int(digits[k])]
        ok = said[k] == truth
        ax.set_title((said[k] or "(nada)") + ("" if ok else f" [{truth}]"), fontsize=9,
                     color="#2a7d2a" if ok else "#c44e52")
    fig.suptitle(f"{result['cell']}: held-out exact match {result['exact']:.3f}, "
                 f"CER {result['cer']:.3f} ({len(wrong)} of {len(digits)} wrong)", fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi=100)
