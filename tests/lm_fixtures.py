"""Generated corpora with known structure for the language-model tests."""

import random

WORDS = ["gato ", "perro ", "casa ", "luna "]  # 4 equally likely words


def word_corpus(n_words: int = 20000, seed: int = 0) -> str:
    """Words drawn uniformly from 4; the best char model needs ln(4) nats per word,
    i.e. on average ln(4) / 5.25 nats per character (perplexity about 1.30)."""
    rng = random.Random(seed)
    lines, line = [], []
    for i in range(n_words):
        line.append(rng.choice(WORDS))
        if len(line) == 8:
            lines.append("".join(line).rstrip())
            line = []
    return "\n".join(lines) + "\n"
