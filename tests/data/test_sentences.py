"""Tests of the raw-sentence tokenizer: Spanish punctuation, numbers, abbreviations, offsets."""

from __future__ import annotations

import random

import pytest

from recurrente.data.sentences import Token, pretokenized, tokenize, words


def check_offsets(text: str, tokens: list[Token]) -> None:
    """Every token is the text at its offsets; tokens are in order and skip only whitespace."""
    pos = 0
    for token in tokens:
        assert text[token.start:token.end] == token.text and token.text
        assert token.start >= pos and text[pos:token.start].strip() == ""
        pos = token.end
    assert text[pos:].strip() == ""


@pytest.mark.parametrize("text, expected", [
    ("¿Dónde vive el Sr. García?", ["¿", "Dónde", "vive", "el", "Sr.", "García", "?"]),
    ("«Don Quijote» (1605) costó 3,5 reales.",
     ["«", "Don", "Quijote", "»", "(", "1605", ")", "costó", "3,5", "reales", "."]),
    ("Lo dijo J. R. R. Tolkien en EE.UU.",
     ["Lo", "dijo", "J.", "R.", "R.", "Tolkien", "en", "EE.UU."]),
    ("¡Llegaron 1.000 personas a las 12:30!",
     ["¡", "Llegaron", "1.000", "personas", "a", "las", "12:30", "!"]),
    ("La Sra. O'Donnell y la Dra. Pérez; la Dña. Rosa, etc.",
     ["La", "Sra.", "O'Donnell", "y", "la", "Dra.", "Pérez", ";", "la", "Dña.", "Rosa", ",",
      "etc."]),
    ("El eje franco-alemán [véase pág. 3]: “sí” y ‘no’…",
     ["El", "eje", "franco-alemán", "[", "véase", "pág.", "3", "]", ":", "“", "sí", "”", "y",
      "‘", "no", "’", "…"]),
    ("—Ven —dijo D. Pedro—. Esperaba...",
     ["—", "Ven", "—", "dijo", "D.", "Pedro", "—", ".", "Esperaba", "..."]),
    ('Dijo "basta" en 1990-2000 a la S.A. de l’Hospitalet.',
     ["Dijo", '"', "basta", '"', "en", "1990", "-", "2000", "a", "la", "S.A.", "de",
      "l’Hospitalet", "."]),
    ("El 1º de mayo, el G20 subió un 3,5%.",
     ["El", "1º", "de", "mayo", ",", "el", "G20", "subió", "un", "3,5", "%", "."]),
])
def test_spanish_examples(text, expected):
    tokens = tokenize(text)
    assert words(tokens) == expected
    check_offsets(text, tokens)


def test_sentence_final_period_split_unless_abbreviation():
    assert words(tokenize("Se lo da.")) == ["Se", "lo", "da", "."]
    assert words(tokenize("Vino el Sr.")) == ["Vino", "el", "Sr."]
    assert words(tokenize("y otros, etc...")) == ["y", "otros", ",", "etc", "..."]
    assert words(tokenize("Es el art.5")) == ["Es", "el", "art", ".", "5"]
    assert words(tokenize("la vitamina a.")) == ["la", "vitamina", "a", "."]


def test_offsets_with_irregular_spacing():
    text = "  ¿Qué\u00a0tal?\t\tBien,\n gracias.  "
    tokens = tokenize(text)
    assert words(tokens) == ["¿", "Qué", "tal", "?", "Bien", ",", "gracias", "."]
    assert tokens[0] == Token("¿", 2, 3)
    check_offsets(text, tokens)


def test_offsets_always_hold_on_random_text():
    alphabet = list("aeiouñáéSRDJ.,;:¿?¡!()[]«»\"“”‘’…-–—'0123456789 \t\n") + ["Sr.", "EE.UU."]
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        check_offsets(text, tokenize(text))


def test_empty_and_whitespace():
    assert tokenize("") == [] and tokenize(" \n\t ") == []
    assert pretokenized("") == []


def test_pretokenized_keeps_tokens_as_they_are():
    line = " El  Sr. García\tvive?"
    tokens = pretokenized(line)
    assert words(tokens) == ["El", "Sr.", "García", "vive?"]
    assert tokens[1] == Token("Sr.", 5, 8)
    check_offsets(line, tokens)
