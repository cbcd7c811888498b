"""Tests of the data layer: corpora, downloads (against a local http.server), tokenizers, batching.

Every text here is made by the test; no third-party corpus is read.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from recurrente.data import batching, corpora, download, tokenizers
from recurrente.data.download import DatasetSpec, RemoteFile
from recurrente.errors import UserError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ============================================================================= corpora

@pytest.fixture(scope="module")
def default_corpus():
    return corpora.load_corpus(None)


def test_file_strips_bom_and_normalises_line_ends(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\xef\xbb\xbfline one\r\nline two\rthree\r\n")
    corpus = corpora.load_corpus(str(path))
    assert corpus.text == "line one\nline two\nthree\n"
    assert corpus.name == "notes" and corpus.splits is None
    assert corpus.source["kind"] == "file"
    assert corpus.source["sha256"] == sha(corpus.text.encode())


def test_folder_is_recursive_and_sorted(tmp_path):
    for rel, body in {"b.txt": "B", "a.txt": "A\r\n", "sub/deeper/d.txt": "D", "sub/c.TXT": "C",
                      "skip.md": "not text", "sub/empty.txt": ""}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(body.encode())
    corpus = corpora.load_corpus(tmp_path)
    assert corpus.text == "A\n\nB\nC\nD"
    assert corpus.source["files"] == 5


def test_stdin_text_and_bytes():
    assert corpora.load_corpus("-", stdin=io.StringIO("hola\r\nmundo")).text == "hola\nmundo"
    corpus = corpora.load_corpus("-", stdin=io.BytesIO("\ufeffaño\r\n".encode()))
    assert corpus.text == "año\n" and corpus.name == "stdin"


def test_encoding_option(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("señor\n".encode("latin-1"))
    assert corpora.load_corpus(path, encoding="latin-1").text == "señor\n"


def test_default_corpus_is_stdlib_source_of_a_few_mb(default_corpus):
    assert 2_500_000 <= len(default_corpus.text) <= 4_000_000
    assert default_corpus.source["kind"] == "embedded"
    assert default_corpus.source["sha256"] == corpora.sha256_text(default_corpus.text)
    assert "def " in default_corpus.text and "\r" not in default_corpus.text


def test_default_corpus_is_deterministic():
    first = corpora.load_default(target_chars=60_000)
    second = corpora.load_default(target_chars=60_000)
    assert first.text == second.text and len(first.text) >= 60_000
    parts = {p.parts[-2] for p in corpora.stdlib_files()}
    assert not parts & {"test", "tests", "idlelib", "site-packages"}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case, words", [
    ("missing", ["not found", "nope.txt"]),
    ("no_txt", ["no .txt files"]),
    ("empty", ["empty"]),
    ("blank", ["empty", "whitespace"]),
    ("binary", ["binary", "NUL"]),
    ("latin1", ["not valid utf-8", "offset 2", "--encoding latin-1"]),
    ("unknown", ["not-a-dataset", "quijote", "ptb", "wikitext-2"]),
])
def test_bad_inputs_raise_one_clear_user_error(tmp_path, case, words):
    spec = {
        "missing": lambda: str(tmp_path / "nope.txt"),
        "no_txt": lambda: str(_write(tmp_path / "d" / "x.md", b"text").parent),
        "empty": lambda: str(_write(tmp_path / "e.txt", b"")),
        "blank": lambda: str(_write(tmp_path / "b.txt", b" \n\t\r\n")),
        "binary": lambda: str(_write(tmp_path / "x.txt", b"abc\x00\x01def")),
        "latin1": lambda: str(_write(tmp_path / "l.txt", "señor".encode("latin-1"))),
        "unknown": lambda: "not-a-dataset",
    }[case]()
    with pytest.raises(UserError) as info:
        corpora.load_corpus(spec)
    message = str(info.value)
    assert all(w in message for w in words), message
    assert "\n" not in message


# ============================================================================= downloads

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


def closed_port_url(name: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def register(monkeypatch, name, **fields) -> None:
    fields.setdefault("description", "test dataset")
    monkeypatch.setitem(download.DATASETS, name, DatasetSpec(name=name, **fields))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_data_dir_from_env_or_platform_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RECURRENTE_DATA", str(tmp_path))
    assert download.data_dir() == tmp_path
    monkeypatch.delenv("RECURRENTE_DATA")
    assert "recurrente" in str(download.data_dir())


def test_registry_verifies_every_file():
    assert {"quijote", "tinyshakespeare", "ptb", "ptb-char", "wikitext-2"} <= set(download.DATASETS)
    for spec in download.DATASETS.values():
        for remote in spec.files + ((spec.archive,) if spec.archive else ()):
            assert remote.sha256 is not None or remote.check is not None, remote
            assert remote.sha256 is None or len(remote.sha256) == 64
    assert download.DATASETS["quijote"].splits == {"text": "quijote.txt"}


def test_download_verified_by_sha256(server, data, monkeypatch):
    base, www = server
    body = b"the quick brown fox\n" * 50
    (www / "toy.txt").write_bytes(body)
    register(monkeypatch, "toy", splits={"text": "toy.txt"},
             files=(RemoteFile("toy.txt", (f"{base}/toy.txt",), sha256=sha(body)),))
    assert download.fetch("toy") == {"text": data / "toy.txt"}
    assert (data / "toy.txt").read_bytes() == body
    assert leftovers(data) == ["toy.txt"]
    corpus = corpora.load_corpus("toy")
    assert corpus.text == body.decode() and corpus.source["kind"] == "dataset"


def test_hash_mismatch_is_rejected_and_nothing_is_left(server, data, monkeypatch):
    base, www = server
    (www / "toy.txt").write_bytes(b"tampered\n")
    expected = "0" * 64
    register(monkeypatch, "toy", splits={"text": "toy.txt"},
             files=(RemoteFile("toy.txt", (f"{base}/toy.txt",), sha256=expected),))
    with pytest.raises(UserError) as info:
        download.fetch("toy")
    assert expected in str(info.value) and sha(b"tampered\n") in str(info.value)
    assert leftovers(data) == []


GUTENBERG = ("\ufeffThe Project Gutenberg eBook of Toy\r\nLicence blah\r\n"
             "*** START OF THE PROJECT GUTENBERG EBOOK TOY ***\r\n\r\n"
             "En un lugar de la Mancha,\r\nde cuyo nombre no quiero acordarme.\r\n\r\n"
             "*** END OF THE PROJECT GUTENBERG EBOOK TOY ***\r\nMore licence\r\n")


def test_gutenberg_markers_stripped_and_text_normalised(server, data, monkeypatch):
    base, www = server
    (www / "pg1.txt").write_bytes(GUTENBERG.encode())
    register(monkeypatch, "toy-gb", splits={"text": "toy.txt"}, clean=download.strip_gutenberg,
             files=(RemoteFile("toy.txt", (f"{base}/pg1.txt",), check=download.check_gutenberg),))
    corpus = corpora.load_corpus("toy-gb")
    assert corpus.text == "En un lugar de la Mancha,\nde cuyo nombre no quiero acordarme.\n"


def test_gutenberg_file_without_markers_is_rejected(server, data, monkeypatch):
    base, www = server
    (www / "pg1.txt").write_bytes(b"just a text without the markers\n")
    register(monkeypatch, "toy-gb", splits={"text": "toy.txt"}, clean=download.strip_gutenberg,
             files=(RemoteFile("toy.txt", (f"{base}/pg1.txt",), check=download.check_gutenberg),))
    with pytest.raises(UserError, match="START OF THE PROJECT GUTENBERG EBOOK"):
        download.fetch("toy-gb")
    assert leftovers(data) == []


def test_zip_archive_is_extracted_into_splits(server, data, monkeypatch):
    base, www = server
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for split in ("train", "valid", "test"):
            zf.writestr(f"toy-2/wiki.{split}.tokens", f" = {split} = \n a b c \n")
    (www / "toy-2.zip").write_bytes(buffer.getvalue())
    splits = {s: f"toy-2/wiki.{s}.tokens" for s in ("train", "valid", "test")}
    register(monkeypatch, "toy-2", splits=splits, archive=RemoteFile(
        "toy-2.zip", (f"{base}/toy-2.zip",), sha256=sha(buffer.getvalue())))
    paths = download.fetch("toy-2")
    assert paths["valid"] == data / "toy-2" / "wiki.valid.tokens"
    corpus = corpora.load_corpus("toy-2")
    assert corpus.splits["test"] == " = test = \n a b c \n"
    assert corpus.text == corpus.splits["train"]
    assert set(corpus.source["splits_sha256"]) == {"train", "valid", "test"}


def test_existing_file_is_used_without_network(data, monkeypatch):
    body = b"already here\n"
    _write(data / "toy.txt", body)
    register(monkeypatch, "toy", splits={"text": "toy.txt"},
             files=(RemoteFile("toy.txt", (closed_port_url("toy.txt"),), sha256=sha(body)),))
    assert corpora.load_corpus("toy").text == "already here\n"


def test_existing_file_with_wrong_hash_is_reported(data, monkeypatch):
    _write(data / "toy.txt", b"changed\n")
    register(monkeypatch, "toy", splits={"text": "toy.txt"},
             files=(RemoteFile("toy.txt", (closed_port_url("toy.txt"),), sha256="1" * 64),))
    with pytest.raises(UserError, match="delete it"):
        download.fetch("toy")


def test_offline_error_names_url_and_target_path(data, monkeypatch):
    url = closed_port_url("toy.txt")
    register(monkeypatch, "toy", splits={"text": "toy.txt"},
             files=(RemoteFile("toy.txt", (url,), sha256="2" * 64),))
    with pytest.raises(UserError) as info:
        download.fetch("toy")
    assert url in str(info.value) and str(data / "toy.txt") in str(info.value)
    assert leftovers(data) == []


def test_mirror_env_replaces_the_registry_urls(server, data, monkeypatch):
    base, www = server
    (www / "toy.txt").write_bytes(b"from the mirror\n")
    monkeypatch.setenv("RECURRENTE_MIRROR", base + "/")
    register(monkeypatch, "toy", splits={"text": "toy.txt"}, files=(RemoteFile(
        "toy.txt", ("https://example.invalid/x/toy.txt",), sha256=sha(b"from the mirror\n")),))
    assert corpora.load_corpus("toy").text == "from the mirror\n"


def test_ptb_char_cleaning():
    raw = "a e r _ b a n k\n< u n k > _ n\n"
    assert download.ptb_char_to_text(raw) == "aer bank\n<unk> n\n"


# ============================================================================= tokenizers

@pytest.mark.parametrize("text, mode, expected", [
    ("¡Hola, señor!", "spanish-letters", " hola señor "),
    ("ÁRBOL\nÑandú 3 pingüino", "spanish-letters", "árbol ñandú pingüino"),
    ("cafe\u0301", "spanish-letters", "café"),
    ("ABC déF", "lowercase", "abc déf"),
    ("As Is\r", "none", "As Is\r"),
])
def test_normalize(text, mode, expected):
    assert tokenizers.normalize(text, mode) == expected


def test_unknown_normalization():
    with pytest.raises(UserError, match="spanish-letters"):
        tokenizers.normalize("x", "upper")


def test_char_round_trip_and_vocabulary():
    text = "En un lugar de la Mancha,\nde cuyo nombre — ¿no? 😀\n"
    tok = tokenizers.CharTokenizer.fit(text)
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert tok.decode(ids) == text and tok.decode(torch.from_numpy(ids)) == text
    assert tok.itos[0] == "<unk>" and tok.itos[1:] == sorted(set(text))
    assert tok.kind == "char" and tok.vocab_size == len(set(text)) + 1 and tok.unk_id == 0


def test_char_unknowns():
    tok = tokenizers.CharTokenizer.fit("abc")
    ids = tok.encode("abxc")
    assert ids.tolist() == [1, 2, 0, 3] and tok.decode(ids) == "ab\ufffdc"
    assert tok.count_unknown("xyzab") == 3
    with pytest.raises(UserError, match=r"'Q' \(U\+0051\) at position 2"):
        tok.encode_strict("abQc")
    assert tok.encode_strict("cab").tolist() == [3, 1, 2]


def test_char_cap_and_min_freq():
    text = "aaaa bbb cc d"
    assert tokenizers.CharTokenizer.fit(text, min_freq=2).itos == ["<unk>", " ", "a", "b", "c"]
    assert tokenizers.CharTokenizer.fit(text, vocab_size=3).itos == ["<unk>", " ", "a"]


def test_spanish_letters_tokenizer_round_trip():
    text = "¡Hola, Señor Ñandú!\n¿Qué tal? 42"
    tok = tokenizers.CharTokenizer.fit(text, "spanish-letters")
    assert tok.decode(tok.encode(text)) == tokenizers.normalize(text, "spanish-letters")
    assert tok.decode(tok.encode_strict("HOLA")) == "hola"


def test_word_eos_round_trip_and_unknowns():
    text = "the cat  sat\n\nthe dog <unk> sat\n"
    tok = tokenizers.WordTokenizer.fit(text)
    words = [tok.itos[i] for i in tok.encode("the cat\n")]
    assert words == ["the", "cat", "<eos>"]
    assert tok.encode("the cat").tolist() == [tok.stoi["the"], tok.stoi["cat"]]  # no <eos>
    assert tok.decode(tok.encode(text)) == tokenizers.WordTokenizer.canonical(text)
    assert tok.decode(tok.encode(text)) == "the cat sat\n\nthe dog <unk> sat\n"
    assert tok.itos[:4] == ["<unk>", "<eos>", "sat", "the"]  # by frequency, ties alphabetical
    assert tok.count_unknown("the bird sat <unk>") == 1
    with pytest.raises(UserError, match="'bird' at position 1"):
        tok.encode_strict("the bird")


def test_word_cap_and_min_freq():
    text = "a a a b b c\n" * 2
    assert tokenizers.WordTokenizer.fit(text, min_freq=3).itos == ["<unk>", "<eos>", "a", "b"]
    assert tokenizers.WordTokenizer.fit(text, vocab_size=3).itos == ["<unk>", "<eos>", "a"]
    with pytest.raises(UserError, match="greater than 2"):
        tokenizers.WordTokenizer.fit(text, vocab_size=2)


@pytest.mark.parametrize("cls, text", [
    (tokenizers.CharTokenizer, "ñandú\nÉ"), (tokenizers.WordTokenizer, "hola señor\nadiós"),
])
def test_save_and_load(tmp_path, cls, text):
    tok = cls.fit(text, "lowercase")
    assert tok.save(tmp_path) == tmp_path / "tokenizer.json"
    for where in (tmp_path, tmp_path / "tokenizer.json"):
        back = tokenizers.load_tokenizer(where)
        assert type(back) is cls and back.itos == tok.itos and back.normalization == "lowercase"
    assert cls.load(tmp_path).encode(text).tolist() == tok.encode(text).tolist()
    other = tokenizers.WordTokenizer if cls is tokenizers.CharTokenizer else tokenizers.CharTokenizer
    with pytest.raises(UserError, match="expected a"):
        other.load(tmp_path)


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        tokenizers.load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "tokenizer.json").write_text('{"kind": "char"}')
    with pytest.raises(UserError, match="not a recurrente tokenizer"):
        tokenizers.load_tokenizer(tmp_path)


def test_char_encoding_is_vectorised():
    big = "En un lugar de la Mancha, de cuyo nombre no quiero acordarme.\n" * 330_000  # ~21 MB
    tok = tokenizers.CharTokenizer.fit(big[:10_000])
    start = time.perf_counter()
    ids = tok.encode(big)
    elapsed = time.perf_counter() - start
    assert len(ids) == len(big) and tok.count_unknown(big[:1000]) == 0
    assert elapsed < 10, f"encoding {len(big)} characters took {elapsed:.1f} s"


# ============================================================================= batching

@pytest.mark.parametrize("scheme", ["random", "sequential"])
def test_shapes_and_shifted_targets(scheme):
    ids = np.arange(1003)  # token value == position: targets must be inputs + 1
    batches = batching.make_batches(ids, scheme, batch_size=4, seq_len=7, seed=1)
    out = list(batches.epoch(0))
    assert len(out) == len(batches) > 0
    for x, y in out:
        assert x.shape == y.shape == (7, 4) and x.dtype == y.dtype == torch.int64
        assert torch.equal(y, x + 1)
    assert batches.carries_state == (scheme == "sequential")


def test_sequential_rows_continue_across_batches():
    batches = batching.make_batches(np.arange(2000), "sequential", 5, 9, seed=3)
    out = list(batches.epoch(2))
    for (x0, y0), (x1, _) in zip(out, out[1:]):
        assert torch.equal(x1[0], y0[-1]) and torch.equal(x1[0], x0[-1] + 1)
    assert len({int(x[0, 0]) for x, _ in (next(batches.epoch(e)) for e in range(12))}) > 1


def test_random_windows_are_disjoint_within_an_epoch():
    T = 6
    batches = batching.make_batches(np.arange(500), "random", 3, T, seed=0)
    inputs = torch.cat([x.T.reshape(-1) for x, _ in batches.epoch(4)])
    assert len(set(inputs.tolist())) == inputs.numel()  # no position used twice
    starts = torch.cat([x[0] for x, _ in batches.epoch(4)])
    assert len({int(s) % T for s in starts}) == 1  # all windows on one grid (one offset)


@pytest.mark.parametrize("scheme", ["random", "sequential"])
def test_determinism_and_resume(scheme):
    ids = np.random.default_rng(0).integers(0, 50, size=3000)
    a = batching.make_batches(ids, scheme, 4, 10, seed=7)
    b = batching.make_batches(ids, scheme, 4, 10, seed=7)
    same = lambda u, v: all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1])
                            for p, q in zip(u, v))
    first = list(a.epoch(3))
    assert same(first, list(b.epoch(3)))
    assert same(first[5:], list(b.epoch(3, start=5))) and len(list(b.epoch(3, start=5))) == len(a) - 5
    assert not same(first, list(a.epoch(4)))
    assert not same(first, list(batching.make_batches(ids, scheme, 4, 10, seed=8).epoch(3)))


@pytest.mark.parametrize("scheme, n_min", [("random", 4 * 20 + 1), ("sequential", 4 * 21)])
def test_too_short_corpus(scheme, n_min):
    assert len(batching.make_batches(np.arange(n_min), scheme, 4, 20, seed=0)) == 1
    with pytest.raises(UserError) as info:
        batching.make_batches(np.arange(n_min - 1), scheme, 4, 20, seed=0)
    message = str(info.value)
    assert str(n_min) in message and str(n_min - 1) in message and "--seq-len" in message


def test_bad_scheme():
    with pytest.raises(UserError, match="sequential"):
        batching.make_batches(np.arange(100), "shuffled", 2, 5, seed=0)


def test_split_contiguous():
    pieces = batching.split_contiguous(1001)
    assert pieces[0][0] == 0 and pieces[-1][1] == 1001
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert batching.split_contiguous(10, (0.5, 0.5, 0.0)) == [(0, 5), (5, 10), (10, 10)]
    with pytest.raises(UserError, match="sum to 1"):
        batching.split_contiguous(100, (0.9, 0.1, 0.1))
    with pytest.raises(UserError, match="too small"):
        batching.split_contiguous(5, (0.9, 0.05, 0.05))
