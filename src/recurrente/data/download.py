"""Named datasets: where they come from, where they are kept, how they are verified.

Files live in :func:`data_dir`: ``$RECURRENTE_DATA`` when set, else the user cache folder
(``~/.cache/recurrente`` on Linux). A file already there is used as it is, without the network,
after the same check a download gets; so a machine without internet works once the files are
copied in (for instance ``RECURRENTE_DATA=/path/with/quijote.txt``).

A download goes to a temporary file in the same folder, is verified, and only then renamed into
place with :func:`os.replace` (:func:`recurrente.io.atomic_write`): an interrupted or rejected
download never leaves a file behind under the final name. Verification is a full SHA-256 for files that never change, and a content
check for those that do (Project Gutenberg texts are re-released with new boilerplate).

Mirrors: set ``RECURRENTE_MIRROR`` to a base URL (``http://host/path``) and every file is fetched
from ``$RECURRENTE_MIRROR/<file name of its URL>`` instead of the registry's URLs, e.g. from a
local ``python -m http.server``. Tests either do that or register their own
:class:`DatasetSpec` in :data:`DATASETS`.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import platformdirs

from recurrente.errors import UserError
from recurrente.io import atomic_write

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
USER_AGENT = "recurrente/0.1 (+https://pypi.org/project/recurrente; Python urllib)"
_CHUNK = 1 << 20


def data_dir() -> Path:
    """Folder of the named datasets: ``$RECURRENTE_DATA`` if set, else the user cache dir."""
    env = os.environ.get("RECURRENTE_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("recurrente"))


# ----------------------------------------------------------------------------- content checks

_GUTENBERG_START = re.compile(rb"^\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG EBOOK[^\n]*\n",
                              re.IGNORECASE | re.MULTILINE)
_GUTENBERG_END = re.compile(rb"^\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG EBOOK",
                            re.IGNORECASE | re.MULTILINE)


def check_gutenberg(data: bytes, origin: str) -> None:
    """Raise UserError unless ``data`` has the Gutenberg START marker followed by the END one."""
    start = _GUTENBERG_START.search(data)
    end = _GUTENBERG_END.search(data, start.end() if start else 0)
    if start is None or end is None:
        which = "START" if start is None else "END"
        raise UserError(f"{origin} lacks the '*** {which} OF THE PROJECT GUTENBERG EBOOK' marker "
                        f"expected in a Project Gutenberg text; delete it so that it is fetched "
                        f"again, or load it as a plain file path")


def strip_gutenberg(text: str, origin: str = "the text") -> str:
    """The body of a Project Gutenberg text: what lies between its START and END marker lines."""
    data = text.encode("utf-8", "surrogatepass")
    check_gutenberg(data, origin)
    start = _GUTENBERG_START.search(data)
    end = _GUTENBERG_END.search(data, start.end())
    body = data[start.end():end.start()].decode("utf-8", "surrogatepass")
    return body.strip("\n") + "\n"


def check_ptb_char(data: bytes, origin: str) -> None:
    """Mikolov's character PTB: space-separated single characters, ``_`` for the word breaks.

    No published digest of these files was found, so this structural check (at least 95% of the
    symbols in the first 64 KB are one character long, and ``_`` occurs) stands in for one.
    """
    tokens = data[:1 << 16].split()
    single = sum(len(tok) == 1 for tok in tokens)
    if len(data) < 1000 or b"_" not in data[:1 << 16] or single < 0.95 * len(tokens):
        raise UserError(f"{origin} does not look like Mikolov's character-level PTB "
                        f"(single characters separated by spaces); delete it to fetch it again")


def ptb_char_to_text(text: str, origin: str = "") -> str:
    """``a e r _ b a n k`` -> ``aer bank``: the same symbols, as plain text for a char model.

    Each symbol of the file becomes one character (``_`` -> space, line end -> ``\\n``), so
    bits per character stay comparable with the literature.
    """
    return text.replace(" ", "").replace("\t", "").replace("_", " ")


def _keep(text: str, origin: str = "") -> str:
    return text


# ----------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch into ``data_dir() / filename``.

    ``sha256`` is the full digest of the file's bytes when it never changes; ``check`` is a
    content check ``(bytes, origin) -> None`` raising UserError, for files without a fixed digest.
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None
    check: Callable[[bytes, str], None] | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset.

    ``splits`` maps a split name (``"text"`` for single-text corpora, else ``train``/``valid``/
    ``test``) to a path relative to ``data_dir()``. Each split file is either one of ``files``
    or a member of the zip archive ``archive`` (then extracted to the same relative path).
    ``clean(text, origin)`` turns the decoded file into the corpus text. ``labelled`` marks a
    dataset of labelled examples (tables read by :mod:`recurrente.data.formats`), not a text
    corpus for a language model.
    """

    name: str
    description: str
    splits: dict[str, str]
    files: tuple[RemoteFile, ...] = ()
    archive: RemoteFile | None = None
    clean: Callable[[str, str], str] = field(default=_keep)
    labelled: bool = False


def _ptb(prefix: str, digests: dict[str, str | None], check=None) -> tuple[RemoteFile, ...]:
    base = "https://raw.githubusercontent.com/{}/lstm/master/data/"
    out = []
    for split, digest in digests.items():
        name = f"{prefix}.{split}.txt"
        owner = "wojzaremba" if prefix == "ptb" else "tomsercu"
        out.append(RemoteFile(name, (base.format(owner) + name,), sha256=digest, check=check))
    return tuple(out)


_CONLL2002 = "https://raw.githubusercontent.com/teropa/nlp/master/resources/corpora/conll2002/"
_CONLL2002_SPLITS = {"train": "train", "valid": "testa", "test": "testb"}


def _conll2002(prefix: str, digests: dict[str, str]) -> dict:
    """The splits and files of CoNLL-2002's ``esp`` or ``ned`` part, kept under ``conll2002/``."""
    names = {split: f"{prefix}.{theirs}" for split, theirs in _CONLL2002_SPLITS.items()}
    return {"splits": {split: f"conll2002/{name}" for split, name in names.items()},
            "files": tuple(RemoteFile(f"conll2002/{name}", (_CONLL2002 + name,),
                                      sha256=digests[split]) for split, name in names.items())}


# Digests: tinyshakespeare, PTB and the WikiText-2 zip are the values that several independent
# public projects pin for these exact files (for example lm-evaluation-harness for PTB, the
# DataDeps registration of WikiText-2 and Apple's mlx-data for the WikiText-2 zip; minGPT's
# Dockerfile for tinyshakespeare). No published digest of the character-level PTB files was
# found, so those get a content check instead; Gutenberg texts change, so Quijote gets its markers.
# GLUE's SST-2 zip (7,439,277 bytes): the sha256 that Transformers.jl's DataDeps registration and
# Hugging Face's GLUE download checksums pin for this exact URL (TensorFlow Datasets pins the same
# digest and size for the older Firebase copy); torchtext's SST2 dataset pins the same URL's MD5,
# 9f81648d4199384278b86e315dac217c.
# CoNLL-2002 (latin-1 column files; esp.*: word tag, ned.*: word POS tag; train/testa/testb as
# train/valid/test): the sha256 digests that Hugging Face's conll2002 dataset script pins in its
# dataset_infos.json download_checksums for these exact raw.githubusercontent.com URLs (byte
# sizes there: esp 2,970,825 / 594,058 / 575,807; ned 2,377,174 / 450,785 / 814,282).
DATASETS: dict[str, DatasetSpec] = {
    "quijote": DatasetSpec(
        "quijote", "Don Quijote (Cervantes, Spanish), Project Gutenberg eBook #2000",
        splits={"text": "quijote.txt"},
        files=(RemoteFile("quijote.txt", ("https://www.gutenberg.org/cache/epub/2000/pg2000.txt",),
                          check=check_gutenberg),),
        clean=strip_gutenberg),
    "tinyshakespeare": DatasetSpec(
        "tinyshakespeare", "Karpathy's char-rnn tiny Shakespeare (1,115,394 bytes)",
        splits={"text": "tinyshakespeare.txt"},
        files=(RemoteFile(
            "tinyshakespeare.txt",
            ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
             "input.txt",),
            sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),)),
    "ptb": DatasetSpec(
        "ptb", "Penn Treebank, Mikolov's word-level LM version (10k words)",
        splits={s: f"ptb.{s}.txt" for s in ("train", "valid", "test")},
        files=_ptb("ptb", {
            "train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
            "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
            "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"})),
    "ptb-char": DatasetSpec(
        "ptb-char", "Penn Treebank, Mikolov's character-level version ('_' is a space)",
        splits={s: f"ptb.char.{s}.txt" for s in ("train", "valid", "test")},
        files=_ptb("ptb.char", dict.fromkeys(("train", "valid", "test")), check_ptb_char),
        clean=ptb_char_to_text),
    "wikitext-2": DatasetSpec(
        "wikitext-2", "WikiText-2 v1 (Merity et al. 2016), tokenised, <unk> for rare words",
        splits={s: f"wikitext-2/wiki.{s}.tokens" for s in ("train", "valid", "test")},
        archive=RemoteFile(
            "wikitext-2-v1.zip",
            ("https://wikitext.smerity.com/wikitext-2-v1.zip",
             "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"),
            sha256="92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c")),
    "sst2": DatasetSpec(
        "sst2", "Stanford Sentiment Treebank, binary (GLUE SST-2): labelled sentences, 0/1",
        splits={s: f"SST-2/{s}.tsv" for s in ("train", "dev")},
        archive=RemoteFile(
            "SST-2.zip", ("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",),
            sha256="d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa"),
        labelled=True),
    "conll2002-es": DatasetSpec(
        "conll2002-es", "CoNLL-2002 Spanish named entities (EFE news, BIO tags: PER LOC ORG MISC)",
        **_conll2002("esp", {
            "train": "a20d95cab7d88a19a86f8c1ad6329325c99fbd9529ed978cbd7e31d4b01b4008",
            "valid": "85c17793b77881c53d19017d9d0f1e6fb98b7ddcab54a5f24b05ed1793103c87",
            "test": "1f8f7a392c6d4979a5592a5794eed43d7869b46da6851bbcde99714149f1d016"}),
        labelled=True),
    "conll2002-nl": DatasetSpec(
        "conll2002-nl", "CoNLL-2002 Dutch named entities (De Morgen news, BIO tags, POS column)",
        **_conll2002("ned", {
            "train": "0a419dcb356b62c8cff38515675550b3d5dbea9f45a1c4956328dbd5cc7fcdbc",
            "valid": "51259d4bfe52462f211d3d0b67173a7ecbfa296e199f6c6bd0895f4c78155057",
            "test": "2aa748edb82e6f9c4d82e57a4bed69ded18cfa4803122c75070335d513517488"}),
        labelled=True),
}


# ----------------------------------------------------------------------------- fetching

def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(remote: RemoteFile, path: Path, origin: str) -> None:
    """Raise UserError if ``path`` is not the file ``remote`` describes."""
    if remote.sha256 is not None:
        got = _sha256_file(path)
        if got != remote.sha256:
            raise UserError(f"{origin} has sha256 {got} but {remote.sha256} was expected; "
                            f"the file is corrupt or not the right one")
    if remote.check is not None:
        remote.check(path.read_bytes(), origin)


def _candidate_urls(remote: RemoteFile) -> tuple[str, ...]:
    mirror = os.environ.get("RECURRENTE_MIRROR")
    if mirror:
        return (mirror.rstrip("/") + "/" + remote.urls[0].rsplit("/", 1)[-1],)
    return remote.urls


def _download_to(url: str, target: Path, remote: RemoteFile) -> None:
    """Fetch ``url`` to a temporary file beside ``target``, verify it, then rename it in place."""
    def fetch_and_verify(tmp: Path) -> None:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with open(tmp, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            shutil.copyfileobj(r, out, _CHUNK)
        _verify(remote, tmp, f"the download of {url}")  # raising here leaves nothing behind

    atomic_write(target, fetch_and_verify)


def fetch_file(remote: RemoteFile, root: Path | None = None) -> Path:
    """Make sure ``remote`` is in ``root`` (default :func:`data_dir`), verified; return its path."""
    target = (data_dir() if root is None else root) / remote.filename
    if target.exists():
        _verify(remote, target, f"{target} (delete it to download it again)")
        return target
    urls = _candidate_urls(remote)
    failures = []
    for url in urls:
        log.info("downloading %s -> %s", url, target)
        try:
            _download_to(url, target, remote)
            return target
        except (OSError, http.client.HTTPException) as err:  # URLError and timeouts are OSErrors
            reason = getattr(err, "reason", None) or err
            failures.append(f"{url}: {reason}" if len(urls) > 1 else str(reason))
    raise UserError(f"could not download {urls[0]} ({'; '.join(failures)}); fetch it yourself "
                    f"and save it as {target}")


def _extract(archive: Path, members: dict[str, str], root: Path) -> None:
    """Extract the zip ``members`` (relative paths) atomically into ``root``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            for rel in members.values():
                if rel not in names:
                    raise UserError(f"{archive} has no member {rel!r}; expected the dataset's "
                                    f"archive (delete it to download it again)")
                atomic_write(root / rel, lambda tmp: _copy_member(zf, rel, tmp))
    except zipfile.BadZipFile:
        raise UserError(f"{archive} is not a valid zip archive; delete it to download it "
                        f"again") from None


def _copy_member(zf: zipfile.ZipFile, rel: str, path: Path) -> None:
    with open(path, "wb") as out, zf.open(rel) as src:
        shutil.copyfileobj(src, out, _CHUNK)


def fetch(name: str) -> dict[str, Path]:
    """Make the dataset ``name`` available locally; return ``{split: path}``.

    Uses the files already in :func:`data_dir`, downloads what is missing, verifies every file
    it relies on, and extracts the split files from the archive when the dataset has one.
    """
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    root = data_dir()
    paths = {split: root / rel for split, rel in spec.splits.items()}
    for remote in spec.files:
        fetch_file(remote, root)
    if spec.archive is not None and not all(p.exists() for p in paths.values()):
        _extract(fetch_file(spec.archive, root), spec.splits, root)
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise UserError(f"dataset {name!r} is incomplete: {', '.join(missing)} not found after "
                        f"fetching; check the registry entry")
    return paths
