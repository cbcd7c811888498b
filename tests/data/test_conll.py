"""Tests of CoNLL column files (reading, errors with file and line, writing) and of the named
datasets conll2002-es / conll2002-nl fetched from a local http.server. Every file is made here."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest

from recurrente.data import corpora, download
from recurrente.data.conll import (Sentence, TaggedCorpus, format_conll, is_tagged_dataset,
                                   load_tagged_dataset, read_conll, write_conll)
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


SPANISH = ("-DOCSTART- O\n\n"
           "El O\nSr. B-PER\nGarcía I-PER\nvive O\nen O\nMadrid B-LOC\n. O\n\n\n\n"
           "La B-ORG\nONU I-ORG\n")  # several blank lines, no final blank line


# ============================================================================= reading

def test_docstart_blank_runs_and_missing_final_blank_line(tmp_path):
    path = write(tmp_path / "es.conll", SPANISH)
    corpus = read_conll(path)
    assert isinstance(corpus, TaggedCorpus) and len(corpus) == 2
    assert corpus.sentences[0] == Sentence(["El", "Sr.", "García", "vive", "en", "Madrid", "."],
                                           ["O", "B-PER", "I-PER", "O", "O", "B-LOC", "O"])
    assert corpus.sentences[1] == Sentence(["La", "ONU"], ["B-ORG", "I-ORG"])
    assert corpus.tokens == 9 and corpus.labels == ["B-LOC", "B-ORG", "B-PER", "I-ORG", "I-PER",
                                                    "O"]
    source = corpus.source
    assert source["kind"] == "conll" and source["path"] == str(path.resolve())
    assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (source["encoding"], source["columns"], source["scheme"]) == ("utf-8", 2, None)


def test_docstart_inside_a_sentence_ends_it_and_crlf_is_fine(tmp_path):
    path = write(tmp_path / "a.conll", "a O\r\nb O\r\n-DOCSTART- O\r\nc O\r\n")
    assert [s.tokens for s in read_conll(path).sentences] == [["a", "b"], ["c"]]


def test_latin1_file_with_encoding_and_three_columns(tmp_path):
    body = ("-DOCSTART- -DOCSTART- O\n\nDe Art O\nMorgen N B-ORG\nschreef V O\n\n"
            "Señor N B-PER\n").encode("latin-1")
    path = write(tmp_path / "ned.train", body)
    message = error(lambda: read_conll(path))
    assert "ned.train" in message and "line 7" in message and "--encoding latin-1" in message
    corpus = read_conll(path, encoding="latin-1")
    assert corpus.sentences[1] == Sentence(["Señor"], ["B-PER"])
    assert corpus.source["columns"] == 3 and corpus.source["encoding"] == "latin-1"


def test_column_choice_tabs_spaces_and_untagged_files(tmp_path):
    path = write(tmp_path / "t.tsv", "Madrid\tNP\tB-LOC\n es  \t VSI\tO \n")
    pos = read_conll(path, word_column=0, tag_column=1)
    assert pos.sentences[0] == Sentence(["Madrid", "es"], ["NP", "VSI"])
    assert read_conll(path, word_column=-3, tag_column=2).sentences[0].tags == ["B-LOC", "O"]
    assert read_conll(path, tag_column=None).sentences[0] == Sentence(["Madrid", "es"], [])
    nbsp = write(tmp_path / "n.conll", "1\u00a0000 O\n")  # U+00A0 is part of the token
    assert read_conll(nbsp).sentences[0].tokens == ["1\u00a0000"]


def test_scheme_is_checked_when_given(tmp_path):
    path = write(tmp_path / "ok.conll", "Ana S-PER\nen O\nLa B-LOC\nPaz E-LOC\n")
    corpus = read_conll(path, scheme="iobes")
    assert corpus.source["scheme"] == "BIOES" and corpus.sentences[0].tags[0] == "S-PER"


# ============================================================================= errors

@pytest.mark.parametrize("body, kwargs, words", [
    ("a O\nb O\n\nc X O\n", {}, ["line 4", "3 columns", "line 1", "has 2"]),
    ("\n\n-DOCSTART- -X- O\n\na NP O\nb O\n", {}, ["line 6", "2 columns", "line 5", "has 3"]),
    ("a O\n", {"tag_column": 2}, ["tag column 2", "out of range", "2 columns", "line 1"]),
    ("\na O\n", {"word_column": -3}, ["word column -3", "line 2", "from -2 to 1"]),
    ("a\nb\n", {}, ["both column 0", "line 1"]),
    ("", {}, ["no sentences"]),
    ("\n\n  \n-DOCSTART- O\n\n", {}, ["no sentences"]),
    ("a O\n\nb O\nc I-PER\n", {"scheme": "BIO"},
     ["line 4", "sentence that starts on line 3", "invalid BIO", "'I-PER'", "'B-PER'"]),
    ("a B-PER\nb X-PER\n", {"scheme": "BIO"}, ["line 2", "line 1", "'X-PER'"]),
    ("a B-PER\nb I-PER\n", {"scheme": "BIOES"}, ["line 2", "invalid BIOES", "'E-PER'"]),
    ("a O\n", {"scheme": "BILOU"}, ["tag scheme", "'BILOU'"]),
    (b"a O\n\xff\xfe O\n", {}, ["line 2", "utf-8", "--encoding latin-1"]),
    (b"a O\x00\n", {}, ["binary"]),
    ("a O\n", {"encoding": "klingon"}, ["unknown text encoding", "'klingon'"]),
])
def test_bad_files_raise_one_clear_user_error(tmp_path, body, kwargs, words):
    path = write(tmp_path / "bad.conll", body)
    message = error(lambda: read_conll(path, **kwargs))
    assert all(w in message for w in words), message
    if "line" in " ".join(words):
        assert "bad.conll" in message, message


def test_missing_file(tmp_path):
    assert "nope.conll" in error(lambda: read_conll(tmp_path / "nope.conll"))


# ============================================================================= writing

def test_write_read_round_trip_with_predictions(tmp_path):
    corpus = read_conll(write(tmp_path / "in.conll", SPANISH))
    predicted = [["O"] * len(s.tokens) for s in corpus.sentences]
    predicted[0][1] = "B-PER"
    out = write_conll(tmp_path / "out" / "pred.conll", corpus, predicted)
    lines = out.read_text().split("\n")
    assert lines[:2] == ["El O O", "Sr. B-PER B-PER"] and lines[7] == ""
    assert out.read_text().endswith("I-ORG O\n\n")
    gold = read_conll(out, tag_column=1)
    assert gold.sentences == corpus.sentences
    assert [s.tags for s in read_conll(out).sentences] == predicted
    plain = write_conll(tmp_path / "plain.conll", corpus.sentences)
    assert read_conll(plain).sentences == corpus.sentences
    assert not [p.name for p in out.parent.iterdir() if p.name != "pred.conll"]


def test_write_latin1_and_untagged(tmp_path):
    sentences = [Sentence(["Señor", "Pérez"], ["B-PER", "I-PER"]), Sentence(["y"], [])]
    text = format_conll(sentences)
    assert text == "Señor B-PER\nPérez I-PER\n\ny\n\n"
    path = write_conll(tmp_path / "l.conll", sentences[:1], encoding="latin-1")
    assert path.read_bytes() == "Señor B-PER\nPérez I-PER\n\n".encode("latin-1")
    assert "'€'" in error(lambda: write_conll(tmp_path / "e.conll", [Sentence(["€"], ["O"])],
                                              encoding="latin-1"))


@pytest.mark.parametrize("sentences, predicted, words", [
    ([Sentence(["a b"], ["O"])], None, ["sentence 0", "'a b'", "without spaces"]),
    ([Sentence(["a"], ["O"]), Sentence([""], ["O"])], None, ["sentence 1", "''"]),
    ([Sentence(["a"], ["O", "O"])], None, ["1 tokens", "2 gold tags"]),
    ([Sentence(["a"], ["O"])], [["O"], ["O"]], ["1 sentences", "got 2"]),
    ([Sentence(["a"], ["O"])], [[]], ["1 tokens", "0 predicted tags"]),
    ([Sentence([], [])], None, ["sentence 0", "no tokens"]),
])
def test_write_rejects_what_a_column_file_cannot_hold(tmp_path, sentences, predicted, words):
    message = error(lambda: write_conll(tmp_path / "x.conll", sentences, predicted))
    assert all(w in message for w in words), message
    assert not (tmp_path / "x.conll").exists()


# ============================================================================= named datasets

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path / "www"``; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def data(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("RECURRENTE_DATA", str(folder))
    monkeypatch.delenv("RECURRENTE_MIRROR", raising=False)
    return folder


def toy_conll2002(prefix: str, split: str) -> bytes:
    """A tiny file in the shape of CoNLL-2002's (latin-1; ned.* have a POS column)."""
    pos = " N" if prefix == "ned" else ""
    return (f"-DOCSTART-{' -DOCSTART-' if pos else ''} O\n\n"
            f"{split}{pos} O\nEspaña{pos} B-LOC\n\nJosé{pos} B-PER\nMaría{pos} I-PER\n"
            ).encode("latin-1")


def serve_conll2002(monkeypatch, www: Path, name: str, prefix: str) -> dict[str, bytes]:
    """Put toy files in ``www`` and point the registry entry's digests at them."""
    bodies = {}
    spec = download.DATASETS[name]
    files = []
    for remote in spec.files:
        filename = remote.urls[0].rsplit("/", 1)[-1]
        body = toy_conll2002(prefix, filename.split(".")[1])
        (www / filename).write_bytes(body)
        bodies[filename] = body
        files.append(dataclasses.replace(remote, sha256=hashlib.sha256(body).hexdigest()))
    monkeypatch.setitem(download.DATASETS, name, dataclasses.replace(spec, files=tuple(files)))
    return bodies


def test_registry_entries_for_conll2002():
    base = "https://raw.githubusercontent.com/teropa/nlp/master/resources/corpora/conll2002/"
    for name, prefix in (("conll2002-es", "esp"), ("conll2002-nl", "ned")):
        spec = download.DATASETS[name]
        assert spec.labelled and is_tagged_dataset(name)
        assert spec.splits == {"train": f"conll2002/{prefix}.train",
                               "valid": f"conll2002/{prefix}.testa",
                               "test": f"conll2002/{prefix}.testb"}
        assert [r.urls for r in spec.files] == [(base + f"{prefix}.{s}",)
                                                for s in ("train", "testa", "testb")]
        assert all(re.fullmatch("[0-9a-f]{64}", r.sha256) for r in spec.files)
    assert not is_tagged_dataset("sst2") and not is_tagged_dataset(None)


@pytest.mark.parametrize("name, prefix, columns", [("conll2002-es", "esp", 2),
                                                   ("conll2002-nl", "ned", 3)])
def test_datasets_fetched_through_a_mirror(server, data, monkeypatch, name, prefix, columns):
    base, www = server
    bodies = serve_conll2002(monkeypatch, www, name, prefix)
    monkeypatch.setenv("RECURRENTE_MIRROR", base)
    splits = load_tagged_dataset(name)
    assert set(splits) == {"train", "valid", "test"}
    assert splits["valid"].sentences == [Sentence(["testa", "España"], ["O", "B-LOC"]),
                                         Sentence(["José", "María"], ["B-PER", "I-PER"])]
    source = splits["test"].source
    assert (source["kind"], source["name"], source["split"]) == ("dataset", name, "test")
    assert (source["encoding"], source["columns"], source["scheme"]) == ("latin-1", columns,
                                                                         "BIO")
    assert (data / "conll2002" / f"{prefix}.train").read_bytes() == bodies[f"{prefix}.train"]
    assert "labelled dataset" in error(lambda: corpora.load_dataset(name))


def test_corrupted_download_is_rejected_and_nothing_is_left(server, data, monkeypatch):
    base, www = server
    serve_conll2002(monkeypatch, www, "conll2002-es", "esp")
    (www / "esp.testa").write_bytes(b"tampered O\n")
    monkeypatch.setenv("RECURRENTE_MIRROR", base)
    message = error(lambda: load_tagged_dataset("conll2002-es"))
    assert "esp.testa" in message and "sha256" in message
    assert hashlib.sha256(b"tampered O\n").hexdigest() in message
    left = sorted(p.name for p in (data / "conll2002").iterdir())
    assert left == ["esp.train"]  # verified before it; the bad one never got its final name


def test_unknown_tagged_dataset():
    message = error(lambda: load_tagged_dataset("conll2003"))
    assert "'conll2003'" in message and "conll2002-es" in message
