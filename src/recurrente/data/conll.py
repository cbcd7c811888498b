"""CoNLL column files: one token per line, its columns split on whitespace, a blank line between
sentences, as in the CoNLL-2000/2002/2003 shared tasks and the output of ``conlleval``.

::

    -DOCSTART- -DOCSTART- O        <- a document marker: skipped, with the blank line after it
                                   <- blank lines end a sentence (several in a row are fine)
    Wolff      NP  B-PER           <- word, other columns..., tag
    ,          Fc  O
    ...

:func:`read_conll` turns such a file into a :class:`TaggedCorpus` (the word and the tag column are
chosen by index, Python-style, so ``-1`` is the last); :func:`write_conll` writes sentences back,
optionally with a predicted tag column after the gold one, which is what ``conlleval`` reads;
:func:`load_tagged_dataset` reads the named datasets ``conll2002-es`` and ``conll2002-nl``.
Everything the user can fix raises :class:`~recurrente.errors.UserError` with one sentence that
names the file and, where it applies, the line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from recurrente.data import download
from recurrente.data.corpora import decode_bytes
from recurrente.errors import UserError
from recurrente.io import atomic_write

DOCSTART = "-DOCSTART-"
_FIELDS = re.compile(r"[^ \t]+")  # columns: split on spaces and tabs only (not on U+00A0)


@dataclass
class Sentence:
    """One tagged sentence: ``tokens[i]`` carries ``tags[i]`` (``tags`` is empty when untagged);
    ``lines[i]`` is the file line of token i (empty for sentences not read from a file)."""

    tokens: list[str]
    tags: list[str]
    lines: list[int] = field(default_factory=list, compare=False, repr=False)


@dataclass
class TaggedCorpus:
    """The sentences of one CoNLL file and where they came from.

    Attributes:
        sentences: in file order.
        source: JSON-able record: ``kind`` (``conll`` or ``dataset``), ``path``, ``sha256`` of the
            file's bytes, ``encoding``, ``columns`` (per token line), ``word_column``,
            ``tag_column`` and ``scheme`` (as given: ``None`` when not checked).
    """

    sentences: list[Sentence]
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def tokens(self) -> int:
        """Number of tokens over all sentences."""
        return sum(len(s.tokens) for s in self.sentences)

    @property
    def labels(self) -> list[str]:
        """The distinct tags, sorted."""
        return sorted({tag for s in self.sentences for tag in s.tags})


# ----------------------------------------------------------------------------- reading

def _decode(data: bytes, path: Path, encoding: str) -> str:
    """The file's text; a decoding error names the line and suggests latin-1 (CoNLL-2002's)."""
    try:
        return decode_bytes(data, str(path), encoding)
    except UserError:
        try:
            data.decode(encoding)
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise UserError(f"line {line} of {path} is not valid {encoding} (byte "
                            f"0x{data[err.start]:02x}); pass the file's encoding, e.g. "
                            f"--encoding latin-1 as the CoNLL-2002 files need") from None
        except LookupError:
            pass
        raise


def _column(index: int, width: int, what: str, path: Path, line: int) -> int:
    """``index`` made non-negative, or UserError if a line of ``width`` columns lacks it."""
    if not -width <= index < width:
        raise UserError(f"the {what} column {index} is out of range for {path}, whose token lines "
                        f"have {width} column{'s' * (width != 1)} (line {line}); expected an "
                        f"index from {-width} to {width - 1}")
    return index % width


@dataclass
class _Reader:
    """The state of one pass over a file: the sentences so far and the one being read."""

    path: Path
    word_column: int
    tag_column: int | None
    width: int = 0
    first_line: int = 0
    word: int = 0
    tag: int | None = None
    sentences: list[Sentence] = field(default_factory=list)
    token_lines: list[list[int]] = field(default_factory=list)  # per sentence, per token
    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list, compare=False, repr=False)

    def close(self) -> None:
        """End the current sentence (if any)."""
        if self.tokens:
            self.sentences.append(Sentence(self.tokens, self.tags))
            self.token_lines.append(self.lines)
            self.tokens, self.tags, self.lines = [], [], []

    def add(self, fields: list[str], line: int) -> None:
        """One token line."""
        if not self.width:
            self._first(len(fields), line)
        elif len(fields) != self.width:
            raise UserError(f"line {line} of {self.path} has {len(fields)} columns but the first "
                            f"token line (line {self.first_line}) has {self.width}; expected the "
                            f"same number of columns on every token line")
        self.tokens.append(fields[self.word])
        if self.tag is not None:
            self.tags.append(fields[self.tag])
        self.lines.append(line)

    def _first(self, width: int, line: int) -> None:
        self.width, self.first_line = width, line
        self.word = _column(self.word_column, width, "word", self.path, line)
        if self.tag_column is not None:
            self.tag = _column(self.tag_column, width, "tag", self.path, line)
            if self.tag == self.word:
                raise UserError(f"the word and tag columns of {self.path} are both column "
                                f"{self.word} (its token lines have {width}, line {line}); "
                                f"expected two different columns")


def _check_scheme(sentences: list[Sentence], lines: list[list[int]], path: Path,
                  scheme: str, repair: bool = False) -> int:
    """UserError at the first tag (file, line, sentence) inconsistent with ``scheme``; with
    ``repair``, only a tag that is not of the scheme is an error, and ill-formed sequences
    (``O I-PER`` in BIO) are repaired the conlleval way. Returns how many were repaired."""
    from recurrente.data import schemes

    repaired = 0
    for sentence, numbers in zip(sentences, lines):
        try:
            for i, tag in enumerate(sentence.tags):
                schemes.parse(tag, scheme, i)
            if repair:
                fixed = schemes.repair(sentence.tags, scheme)
                repaired += fixed != sentence.tags
                sentence.tags = fixed
            else:
                schemes.check(sentence.tags, scheme)
        except UserError as err:
            bad = _first_bad(sentence.tags, scheme, schemes)
            raise UserError(f"line {numbers[bad]} of {path} (in the sentence that starts on "
                            f"line {numbers[0]}): {err}") from None
    return repaired


def _first_bad(tags: list[str], scheme: str, schemes) -> int:
    """Index of the first tag that does not parse in ``scheme`` or that repair would change."""
    for i, tag in enumerate(tags):
        try:
            schemes.parse(tag, scheme, i)
        except UserError:
            return i
    repaired = schemes.repair(tags, scheme)
    return next(i for i, (a, b) in enumerate(zip(tags, repaired)) if a != b)


def parse_conll(text: str, path: Path, word_column: int = 0, tag_column: int | None = -1
                ) -> tuple[list[Sentence], int, list[list[int]]]:
    """The sentences of decoded CoNLL ``text``, the column count, and each token's line number."""
    reader = _Reader(path, word_column, tag_column)
    for number, line in enumerate(text.split("\n"), 1):
        fields = _FIELDS.findall(line)
        if not fields:
            reader.close()
        elif fields[0] == DOCSTART:
            reader.close()  # a document marker ends any sentence it interrupts
        else:
            reader.add(fields, number)
    reader.close()
    if not reader.sentences:
        raise UserError(f"{path} has no sentences; expected one token per line (word, ..., tag "
                        f"columns) with a blank line between sentences")
    return reader.sentences, reader.width, reader.token_lines


def read_conll(path, word_column: int = 0, tag_column: int | None = -1, encoding: str = "utf-8",
               scheme: str | None = None, repair: bool = False) -> TaggedCorpus:
    """Read a CoNLL column file.

    Args:
        path: the file.
        word_column, tag_column: column indices, negative ones counted from the end (default:
            the first and the last). ``tag_column=None`` reads an untagged file (tags ``[]``).
        encoding: the file's text encoding (CoNLL-2002's files are ``latin-1``).
        scheme: ``IOB1``, ``BIO`` or ``BIOES`` to check every sentence's tags against (see
            :mod:`recurrente.data.schemes`); ``None`` reads the tags as they are.
        repair: with ``scheme``, repair ill-formed sequences the conlleval way (counted in
            ``source["repaired"]``) instead of refusing them; a tag that is not of the scheme
            (``E-PER`` in BIO) is refused either way.

    Example::

        >>> corpus = read_conll("esp.train", encoding="latin-1", scheme="BIO")  # doctest: +SKIP
        >>> corpus.sentences[0].tokens[:3], corpus.sentences[0].tags[:3]        # doctest: +SKIP
        (['Melbourne', '(', 'Australia'], ['B-LOC', 'O', 'B-LOC'])
    """
    path = Path(path).expanduser()
    if scheme is not None:
        from recurrente.data.schemes import scheme_name
        scheme = scheme_name(scheme)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    text = _decode(data, path, encoding)
    sentences, width, lines = parse_conll(text, path, word_column, tag_column)
    for sentence, numbers in zip(sentences, lines):
        sentence.lines = numbers
    repaired = 0
    if scheme is not None and tag_column is not None:
        repaired = _check_scheme(sentences, lines, path, scheme, repair)
    source = {"repaired": repaired, "kind": "conll", "path": str(path.resolve()),
              "sha256": hashlib.sha256(data).hexdigest(), "encoding": encoding,
              "columns": width, "word_column": word_column, "tag_column": tag_column,
              "scheme": scheme}
    return TaggedCorpus(sentences, source)


# ----------------------------------------------------------------------------- writing

def _check_field(value: str, what: str, sentence: int) -> None:
    if not value or any(c in value for c in " \t\n\r") or value == DOCSTART:
        raise UserError(f"sentence {sentence} has the {what} {value!r}, which a CoNLL column "
                        f"cannot hold; expected a non-empty string without spaces or tabs")


def _sentence_lines(sentence: Sentence, predicted: list[str] | None, index: int) -> list[str]:
    """The token lines of one sentence: token, gold tag (if any), predicted tag (if any)."""
    if not sentence.tokens:
        raise UserError(f"sentence {index} has no tokens; expected at least one, since a CoNLL "
                        f"file cannot hold an empty sentence")
    columns = [sentence.tokens]
    for what, tags in (("gold tags", sentence.tags), ("predicted tags", predicted)):
        if tags is None or (what == "gold tags" and not tags):
            continue
        if len(tags) != len(sentence.tokens):
            raise UserError(f"sentence {index} has {len(sentence.tokens)} tokens but "
                            f"{len(tags)} {what}; expected one per token")
        columns.append(tags)
    for what, column in zip(("token", "tag", "tag"), columns):
        for value in column:
            _check_field(value, what, index)
    return [" ".join(row) for row in zip(*columns)]


def format_conll(sentences, predicted: list[list[str]] | None = None) -> str:
    """The CoNLL text of ``sentences`` (see :func:`write_conll`)."""
    sentences = getattr(sentences, "sentences", sentences)
    if predicted is not None and len(predicted) != len(sentences):
        raise UserError(f"expected predicted tags for each of the {len(sentences)} sentences, "
                        f"got {len(predicted)}")
    blocks = []
    for index, sentence in enumerate(sentences):
        lines = _sentence_lines(sentence, None if predicted is None else predicted[index], index)
        blocks.append("".join(line + "\n" for line in lines) + "\n")
    return "".join(blocks)


def write_conll(path, sentences, predicted: list[list[str]] | None = None,
                encoding: str = "utf-8") -> Path:
    """Write ``sentences`` (a list of :class:`Sentence` or a :class:`TaggedCorpus`) as CoNLL.

    Each token line is ``token [gold tag] [predicted tag]`` separated by one space, a blank line
    after every sentence: with ``predicted`` it is the input ``conlleval`` reads. The file is
    written atomically; read it back with ``read_conll(path, tag_column=1)`` (gold) or ``-1``.
    """
    path = Path(path).expanduser()
    text = format_conll(sentences, predicted)
    try:
        text.encode(encoding)
    except UnicodeEncodeError as err:
        raise UserError(f"the text for {path} has {err.object[err.start]!r}, which {encoding} "
                        f"cannot encode; expected an encoding such as utf-8") from None
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding, newline="\n"))
    return path


# ----------------------------------------------------------------------------- named datasets

@dataclass(frozen=True)
class TaggedDataset:
    """A tagged dataset of :data:`download.DATASETS` and how its files are read."""

    dataset: str
    word_column: int
    tag_column: int
    encoding: str
    scheme: str


# CoNLL-2002: esp.* are "word tag", ned.* are "word POS tag"; both latin-1, both BIO (IOB2).
TAGGED_DATASETS: dict[str, TaggedDataset] = {
    "conll2002-es": TaggedDataset("conll2002-es", 0, -1, "latin-1", "BIO"),
    "conll2002-nl": TaggedDataset("conll2002-nl", 0, -1, "latin-1", "BIO"),
}


def is_tagged_dataset(name) -> bool:
    """Whether ``name`` is a key of :data:`TAGGED_DATASETS`."""
    return isinstance(name, str) and name in TAGGED_DATASETS


def load_tagged_dataset(name: str) -> dict[str, TaggedCorpus]:
    """A named tagged dataset, fetched if needed: ``{"train": ..., "valid": ..., "test": ...}``.

    For CoNLL-2002, ``valid`` is the shared task's ``testa`` and ``test`` its ``testb``. The tags
    are read as they are (``source["scheme"]`` names the scheme they are written in).
    """
    if not is_tagged_dataset(name):
        raise UserError(f"unknown tagged dataset {name!r}; expected one of: "
                        f"{', '.join(sorted(TAGGED_DATASETS))}")
    spec = TAGGED_DATASETS[name]
    paths = download.fetch(spec.dataset)
    out = {}
    for split, path in paths.items():
        corpus = read_conll(path, spec.word_column, spec.tag_column, spec.encoding)
        corpus.source = {**corpus.source, "kind": "dataset", "name": name, "split": split,
                         "scheme": spec.scheme}
        out[split] = corpus
    return out
