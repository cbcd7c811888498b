"""Preparing a large corpus: vectorised tokenization and batching against a plain Python loop.

Builds a synthetic text of ``--megabytes`` MB, then times fitting the character vocabulary,
encoding and cutting the first epoch's batches, against the dictionary-lookup loop most
tutorials write (timed on a 1 MB slice and scaled, since the whole would take minutes).

    python -m benchmarks.data_prep [--megabytes 100]
"""

import argparse
import time

import numpy as np

from benchmarks.common import write_json
from recurrente.data.batching import make_batches
from recurrente.data.tokenizers import CharTokenizer


def synthetic_text(megabytes: int) -> str:
    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzáéíóúñ ,.;:\n"))
    return "".join(alphabet[rng.integers(0, len(alphabet), size=megabytes * 2 ** 20)])


def loop_prepare(text: str):
    vocab = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(vocab)}
    return [stoi[ch] for ch in text]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    text = synthetic_text(args.megabytes)
    start = time.perf_counter()
    tok = CharTokenizer.fit(text)
    ids = tok.encode(text)
    batches = make_batches(ids, "sequential", 64, 128, seed=0)
    first = sum(1 for _ in batches.epoch(0))
    ours = time.perf_counter() - start
    slice_chars = 2 ** 20
    start = time.perf_counter()
    loop_prepare(text[:slice_chars])
    loop = (time.perf_counter() - start) * len(text) / slice_chars
    print(f"{len(text) / 1e6:.0f} M characters: vectorised fit+encode+batch {ours:.1f} s "
          f"({first} batches); Python loop (fit+encode only, scaled from 1 MB) {loop:.1f} s; "
          f"speed-up {loop / ours:.1f}x")
    write_json("data_prep", {"characters": len(text), "seconds": ours, "loop_seconds": loop,
                             "speedup": loop / ours})


if __name__ == "__main__":
    main()
