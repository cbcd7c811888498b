"""Tests of labelled texts: CSV/TSV/JSONL/class folders, column guessing, errors, stratified splits,
and the ``sst2`` dataset fetched from a local http.server. Every file here is made by the test."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from recurrente.data import download, formats
from recurrente.data.formats import read_labelled, stratified_split
from recurrente.errors import UserError


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def error(call) -> str:
    with pytest.raises(UserError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# ============================================================================= reading

def test_csv_quoted_commas_embedded_newlines_and_guessed_columns(tmp_path):
    path = write(tmp_path / "reviews.csv", 'id,Review,Sentiment\r\n1,"good, very good",pos\r\n'
                 '2,"two\nlines ""quoted""",neg\n\n3,plain, pos \n')
    data = read_labelled(path)
    assert data.texts == ["good, very good", 'two\nlines "quoted"', "plain"]
    assert data.labels == ["pos", "neg", "pos"]
    assert (data.text_column, data.label_column, data.guessed) == ("Review", "Sentiment", True)
    assert data.source["kind"] == "csv" and data.source["path"] == str(path.resolve())
    assert data.source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.source["text_column"] == "Review"


def test_tsv_given_columns_are_not_guessed(tmp_path):
    path = write(tmp_path / "a.tsv", "\ufeffsentence\tlabel\tmore\na, b\t1\tx\nc\t0\ty\n")
    data = read_labelled(path, text_column="more", label_column="sentence")
    assert data.texts == ["x", "y"] and data.labels == ["a, b", "c"] and not data.guessed
    default = read_labelled(path)
    assert default.texts == ["a, b", "c"] and default.labels == ["1", "0"]
    assert default.source["kind"] == "tsv"


@pytest.mark.parametrize("name, body, kind", [
    ("data.txt", "text\tlabel\nhola, mundo\tes\n", "tsv"),
    ("data.dat", "text,label\n\"hola\tmundo\",es\n", "csv"),
])
def test_unknown_extension_is_sniffed(tmp_path, name, body, kind):
    data = read_labelled(write(tmp_path / name, body))
    assert data.source["kind"] == kind and data.labels == ["es"] and "hola" in data.texts[0]


def test_jsonl_int_labels_become_strings(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"tweet": "so happy", "polarity": 1}\n\n'
                 '{"tweet": "sad", "polarity": 0, "extra": [1]}\n'
                 '{"tweet": "ok", "polarity": 2.0}\n')
    data = read_labelled(path)
    assert data.texts == ["so happy", "sad", "ok"] and data.labels == ["1", "0", "2"]
    assert (data.text_column, data.label_column, data.guessed) == ("tweet", "polarity", True)
    assert read_labelled(write(tmp_path / "n.ndjson", '{"a": "x", "b": "y"}\n'),
                         "a", "b").source["kind"] == "jsonl"


def test_folder_of_class_folders(tmp_path):
    for rel, body in {"pos/b.txt": "great", "pos/a.txt": "fine\r\n", "neg/z.txt": "bad",
                      "neg/sub/y.txt": "worse", "neg/notes.md": "skip", ".hidden/x.txt": "skip",
                      "pos/.secret.txt": "skip", "README.txt": "not a class"}.items():
        write(tmp_path / "imdb" / rel, body)
    data = read_labelled(tmp_path / "imdb")
    assert data.labels == ["neg", "neg", "pos", "pos"]
    assert data.texts == ["worse", "bad", "fine\n", "great"]
    assert data.text_column is None and data.label_column is None and not data.guessed
    assert data.source["kind"] == "folder" and data.source["classes"] == ["neg", "pos"]
    first = data.source["sha256"]
    write(tmp_path / "imdb" / "pos" / "a.txt", "changed")
    assert read_labelled(tmp_path / "imdb").source["sha256"] != first


def test_encoding_option(tmp_path):
    path = write(tmp_path / "l.csv", "text,label\nseñor,a\n".encode("latin-1"))
    assert read_labelled(path, encoding="latin-1").texts == ["señor"]


# ============================================================================= errors

@pytest.mark.parametrize("name, body, kwargs, words", [
    ("a.csv", "words,tag\nx,y\n", {}, ["a.csv", "'words'", "'tag'", "--text-column"]),
    ("a.csv", "text,tag\nx,y\n", {}, ["a.csv", "'text'", "'tag'", "--label-column"]),
    ("a.csv", "text,label\nx,y\n", {"text_column": "body"},
     ["'body'", "a.csv", "'text', 'label'"]),
    ("a.csv", "text,label\nx,y\n", {"label_column": "cls"}, ["'cls'", "a.csv", "'label'"]),
    ("a.jsonl", '{"x": "a", "label": 1}\n', {}, ["a.jsonl", "'x'", "--text-column"]),
    ("a.csv", "text,label\nx,y\n", {"text_column": "label"}, ["both", "'label'"]),
    ("a.csv", "text,label\na,1\nb,\n", {}, ["line 3", "a.csv", "empty label"]),
    ("a.csv", "text,label\na,1\n\"b\nc\",1\nd\n", {}, ["line 5", "a.csv", "1 fields", "has 2"]),
    ("a.tsv", "text\tlabel\na\t1\tb\tc\n", {}, ["line 2", "a.tsv", "4 fields", "tab"]),
    ("a.csv", 'text,label\n"open quote,1\nx,0\n', {}, ["line 2", "1 fields", "unclosed"]),
    ("a.csv", "", {}, ["a.csv", "no examples"]),
    ("a.csv", "text,label\n", {}, ["a.csv", "no examples"]),
    ("a.jsonl", "\n\n", {}, ["a.jsonl", "no examples"]),
    ("a.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 1}\n', {},
     ["line 2", "a.jsonl", "not valid JSON"]),
    ("a.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b"}\n', {}, ["line 3", "'label'"]),
    ("a.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": null}\n', {},
     ["line 2", "empty label"]),
    ("a.jsonl", '{"text": "a", "label": [1]}\n', {}, ["line 1", "list", "string or a number"]),
    ("a.jsonl", '["a", 1]\n', {}, ["line 1", "list", "object"]),
    ("a.csv", "text,label\nse\xf1or,1\n".encode("latin-1"), {}, ["a.csv", "--encoding"]),
    ("a.csv", b"text,label\x00\n", {}, ["a.csv", "binary"]),
])
def test_bad_files_raise_one_clear_user_error(tmp_path, name, body, kwargs, words):
    path = write(tmp_path / name, body)
    message = error(lambda: read_labelled(path, **kwargs))
    assert all(w in message for w in words), message


def test_missing_path_and_empty_folders(tmp_path):
    assert "nope.csv" in error(lambda: read_labelled(tmp_path / "nope.csv"))
    (tmp_path / "empty" / "pos").mkdir(parents=True)
    message = error(lambda: read_labelled(tmp_path / "empty"))
    assert "no examples" in message and "sub-folder per class" in message


# ============================================================================= splitting

def labels_for(counts: dict[str, int]) -> list[str]:
    labels = [c for c, n in counts.items() for _ in range(n)]
    return [labels[i] for i in np.random.default_rng(5).permutation(len(labels))]


def test_stratified_split_properties():
    counts = {"pos": 503, "neg": 301, "neutral": 47, "rare": 6}
    labels = labels_for(counts)
    fractions = (0.8, 0.15, 0.05)
    parts = stratified_split(labels, fractions, seed=3)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(labels)))  # disjoint and complete
    for part, fraction in zip(parts, fractions):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)  # sorted
        got = Counter(labels[i] for i in part)
        for label, n in counts.items():
            assert abs(got[label] - n * fraction) <= 1, (label, got[label], n * fraction)
            assert got[label] >= 1  # every class in every split
    again = stratified_split(labels, fractions, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = stratified_split(labels, fractions, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(parts, other))


def test_stratified_split_zero_fraction_and_small_classes():
    labels = labels_for({"a": 40, "b": 2})
    train, valid, test = stratified_split(labels, (0.9, 0.1, 0.0), seed=0)
    assert len(test) == 0 and len(train) + len(valid) == 42
    assert Counter(labels[i] for i in valid) == {"a": 4, "b": 1}
    train, valid, test = stratified_split(["x", "y", "x", "x"], (0.9, 0.05, 0.05))
    assert 1 in train and [len(train), len(valid), len(test)] == [2, 1, 1]  # the rare y: train


@pytest.mark.parametrize("labels, fractions, words", [
    (["a", "b"], (0.9, 0.05, 0.05), ["2 examples", "at least 3"]),
    (["a", "b", "c"] * 5, (0.9, 0.1, 0.1), ["sum to 1"]),
    (["a"] * 9, (1.1, -0.1, 0.0), ["non-negative"]),
])
def test_stratified_split_errors(labels, fractions, words):
    message = error(lambda: stratified_split(labels, fractions))
    assert all(w in message for w in words), message


def test_stratified_split_tiny_classes_that_leave_a_split_empty():
    message = error(lambda: stratified_split(["a", "b", "c", "d"], (0.9, 0.05, 0.05)))
    assert "would be empty" in message


# ============================================================================= the sst2 dataset

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 as RECURRENTE_MIRROR; RECURRENTE_DATA in tmp_path."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setenv("RECURRENTE_MIRROR", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("RECURRENTE_DATA", str(tmp_path / "data"))
    yield root, tmp_path / "data"
    httpd.shutdown()
    httpd.server_close()


def sst2_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("SST-2/train.tsv", 'sentence\tlabel\nit \'s a charming " journey \t1 \n'
                                       "a dull , lifeless film \t0 \nfun \t1 \n")
        zf.writestr("SST-2/dev.tsv", "sentence\tlabel\nunflinchingly bleak \t0 \n")
        zf.writestr("SST-2/test.tsv", "index\tsentence\n0\tno labels here\n")
    return buffer.getvalue()


def use_digest(monkeypatch, body: bytes) -> None:
    spec = download.DATASETS["sst2"]
    archive = download.RemoteFile(spec.archive.filename, spec.archive.urls,
                                  sha256=hashlib.sha256(body).hexdigest())
    monkeypatch.setitem(download.DATASETS, "sst2", download.DatasetSpec(
        spec.name, spec.description, spec.splits, archive=archive, labelled=True))


def test_sst2_registry_entry():
    spec = download.DATASETS["sst2"]
    assert spec.labelled and spec.archive.urls == (
        "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",)
    assert spec.archive.sha256 == "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa"
    assert formats.is_labelled_dataset("sst2") and not formats.is_labelled_dataset("ptb")


def test_sst2_fetched_from_a_local_mirror(mirror, monkeypatch):
    www, data = mirror
    body = sst2_zip()
    write(www / "SST-2.zip", body)
    use_digest(monkeypatch, body)
    splits = formats.load_labelled_dataset("sst2")
    assert set(splits) == {"train", "test"}
    train, test = splits["train"], splits["test"]
    assert train.texts[0] == 'it \'s a charming " journey ' and train.labels == ["1", "0", "1"]
    assert test.texts == ["unflinchingly bleak "] and test.labels == ["0"]
    assert train.source["kind"] == "dataset" and train.source["split"] == "train"
    assert test.source["path"] == str((data / "SST-2" / "dev.tsv").resolve())
    assert (train.text_column, train.label_column, train.guessed) == ("sentence", "label", False)


def test_sst2_corrupted_download_is_rejected(mirror, monkeypatch):
    www, data = mirror
    body = sst2_zip()
    write(www / "SST-2.zip", body[:-10] + b"corrupted!")
    use_digest(monkeypatch, body)
    message = error(lambda: formats.load_labelled_dataset("sst2"))
    assert "sha256" in message and hashlib.sha256(body).hexdigest() in message
    assert not (data / "SST-2.zip").exists() and not (data / "SST-2").exists()


def test_unknown_labelled_dataset():
    message = error(lambda: formats.load_labelled_dataset("imdb-nope"))
    assert "'imdb-nope'" in message and "sst2" in message
