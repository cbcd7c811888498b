"""Tests of pretrained word vectors: GloVe and word2vec text files made by the tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from recurrente.data.vectors import coverage, is_special, load_vectors
from recurrente.errors import UserError

GLOVE = "the 0.1 0.2 0.3\nParis 1 2 3\ncat -1.5 0 2e-1\n. . . 7 8 9\nthe 9 9 9\n"
ITOS = ["<pad>", "<unk>", "the", "paris", "cat", "dog", "Cat", ". . ."]


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def error(call) -> str:
    with pytest.raises(UserError) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_glove_exact_lowercase_fallback_and_missing_rows(tmp_path):
    matrix, found, dim = load_vectors(write(tmp_path / "g.txt", GLOVE), ITOS)
    assert dim == 3 and matrix.dtype == np.float32 and matrix.shape == (len(ITOS), 3)
    np.testing.assert_allclose(matrix[2], [0.1, 0.2, 0.3])  # first "the" wins over the repeat
    np.testing.assert_allclose(matrix[3], [1, 2, 3])  # "paris" <- "Paris"
    np.testing.assert_allclose(matrix[4], [-1.5, 0, 0.2])  # exact "cat"
    np.testing.assert_allclose(matrix[6], [-1.5, 0, 0.2])  # "Cat" <- "cat"
    np.testing.assert_allclose(matrix[7], [7, 8, 9])  # a word with spaces (glove.840B has some)
    assert found.tolist() == [False, False, True, True, True, False, True, True]
    assert not matrix[[0, 1, 5]].any()  # rows not found stay zero


def test_exact_match_beats_an_earlier_lowercase_match(tmp_path):
    path = write(tmp_path / "g.txt", "apple 1 1\nApple 2 2\n")
    matrix, found, _ = load_vectors(path, ["Apple", "APPLE"])
    assert matrix.tolist() == [[2, 2], [1, 1]] and found.all()


def test_word2vec_header_crlf_and_gzip(tmp_path):
    body = "3 2\r\nthe 0.5 0.25 \r\ncat 1 2\r\n\r\nzebra 3 4\r\n"
    for path in (write(tmp_path / "w.vec", body),
                 write(tmp_path / "w.vec.gz", gzip.compress(body.encode()))):
        matrix, found, dim = load_vectors(path, ["<unk>", "cat", "the"], dim=2)
        assert dim == 2 and found.tolist() == [False, True, True]
        assert matrix.tolist() == [[0, 0], [1, 2], [0.5, 0.25]]


def test_latin1_encoding(tmp_path):
    path = write(tmp_path / "l.txt", "señor 1 2\n".encode("latin-1"))
    assert load_vectors(path, ["señor"], encoding="latin-1")[1].tolist() == [True]
    message = error(lambda: load_vectors(path, ["señor"]))
    assert "line 1" in message and "--encoding" in message


@pytest.mark.parametrize("body, kwargs, words", [
    ("a 1 2 3\nb 1 2\n", {}, ["line 2", "g.txt", "2 values", "have 3"]),
    ("a 1 2 3\n\nb 1 2 3 4\n", {}, ["line 3", "4 values", "have 3"]),
    ("2 3\na 1 2 3\nb 1 2\n", {}, ["line 3", "2 values", "have 3"]),
    ("a 1 2 3\n", {"dim": 50}, ["g.txt", "dimension 3", "dimension 50"]),
    ("10 300\nx 1\n", {"dim": 100}, ["dimension 300", "dimension 100"]),
    ("a 1 x 3\n", {}, ["line 1", "'x'", "numbers"]),
    ("", {}, ["g.txt", "no word vectors"]),
    ("\n\n", {}, ["no word vectors"]),
    ("2 3\n", {}, ["no word vectors"]),
    ("lonely\n", {}, ["line 1", "no values"]),
    (b"2 3\na\x00\x01\x02\x03", {}, ["binary", ".bin"]),
])
def test_bad_files(tmp_path, body, kwargs, words):
    path = write(tmp_path / "g.txt", body)
    message = error(lambda: load_vectors(path, ["a", "b"], **kwargs))
    assert all(w in message for w in words), message


def test_missing_file(tmp_path):
    assert "nope.txt" in error(lambda: load_vectors(tmp_path / "nope.txt", ["a"]))


def test_unneeded_lines_are_not_parsed(tmp_path):
    path = write(tmp_path / "g.txt", "skip 1 x 3\nkeep 1 2 3\n")  # a bad value in an unused row
    assert load_vectors(path, ["keep"])[1].tolist() == [True]


def test_coverage_leaves_specials_out():
    itos = ["<pad>", "<unk>", "the", "cat", "dog", "<3"]
    found = np.array([True, False, True, True, False, False])
    assert coverage(found, itos) == {"found": 2, "total": 4, "fraction": 0.5}
    assert coverage(found, itos, specials=["<pad>"]) == {"found": 2, "total": 5, "fraction": 0.4}
    assert coverage(found, itos, specials=())["total"] == 6
    assert coverage(np.zeros(1, bool), ["<pad>"]) == {"found": 0, "total": 0, "fraction": 0.0}
    assert is_special("<eos>") and not is_special("<3") and not is_special("<>")
    assert "6" in error(lambda: coverage(found[:3], itos))
