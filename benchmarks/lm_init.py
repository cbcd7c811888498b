"""The first loss of an untrained language model against ln V, the loss of the uniform guess.

For 2x200 LSTMs with vocabularies of 92, 10,000 and 36,368 (the Quijote's letters, its 10,000
most frequent words, all its words), tied or not, three seeds each: the model's own start
(embedding and output uniform in ±0.1, zero bias) and the same model with the embedding drawn
from ``nn.Embedding``'s N(0, 1). Prints the range of ``first loss - ln V``.

    python -m benchmarks.lm_init
"""

import math

import torch
from torch import nn

from benchmarks.common import write_json
from recurrente.tasks.lm.model import LanguageModel


def first_loss_gap(V: int, tie: bool, start: str, seed: int) -> float:
    torch.manual_seed(seed)
    model = LanguageModel(V, hidden_size=200, num_layers=2, tie_weights=tie).eval()
    if start == "N(0, 1)":
        nn.init.normal_(model.embedding.weight)
    ids = torch.randint(0, V, (36, 20))  # (T+1, B)
    with torch.no_grad():
        loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
    return float(loss_sum) / count - math.log(V)


def main():
    results = {}
    for V in (92, 10000, 36368):
        for tie in (False, True):
            row = {}
            for start in ("uniform ±0.1", "N(0, 1)"):
                gaps = [first_loss_gap(V, tie, start, seed) for seed in range(3)]
                row[start] = (min(gaps), max(gaps))
            results[f"V={V},tied={tie}"] = row
            print(f"V = {V:>6}, tied {tie!s:<5}  " + "   ".join(
                f"{start}: {lo:+.4f} to {hi:+.4f}" for start, (lo, hi) in row.items()))
    write_json("lm_init", results)


if __name__ == "__main__":
    main()
