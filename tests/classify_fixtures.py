"""Labelled texts for the classifier's tests: an order-only task (a bag of words cannot learn
it) and a CSV writer."""

import csv
import random
from pathlib import Path

FILLER = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
          "rojo", "verde", "azul", "gato", "perro", "casa", "luna", "sol", "mar", "rio", "pan",
          "vino", "libro", "mesa", "silla", "flor", "arbol", "nube", "tren", "barco"]


def order_examples(n: int, seed: int, min_len: int = 5, max_len: int = 40):
    """Texts of random filler words holding "alfa" and "beta" once each: "antes" when alfa
    comes first, else "despues". The words a text holds say nothing of its label; their order
    says everything."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(min_len, max_len))]
        i, j = rng.sample(range(len(words)), 2)
        words[i], words[j] = "alfa", "beta"
        rows.append((" ".join(words), "antes" if i < j else "despues"))
    return rows


def write_csv(path: Path, rows, header=("text", "label"), delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
