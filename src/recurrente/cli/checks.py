"""The numbers the command line accepts: every numeric option states its range once, here.

A numeric option's argparse ``type`` is a :class:`Number`, e.g. ``integer(1, 8192)`` or
``number(0, 1, high_open=True)``. argparse calls it on the text given, so a value that is not a
number of that kind, not finite, or out of range is refused while the command line is read:
before the command runs, so before anything is read, built or written. The refusal is one
sentence naming the option and what it accepts::

    error: argument --lr: expected a number > 0 and <= 100, got 'nan' (see recurrente train --help)

:func:`document` appends each range to its option's ``--help`` (one pass over the whole parser
tree), and :meth:`Number.check` says the same sentence for a value that comes another way (a
library call, a server flag given in code). What depends on other options or on the run (``--nbest``
at most ``--beam``, ``--layer`` within the model's layers) is checked by the command itself,
still before it writes anything.
"""

import argparse
import math
from dataclasses import dataclass
from typing import Optional, Union

from recurrente.errors import UserError

BIG = 2 ** 31 - 1  # the top of an integer range where any size is harmless (counts, caps)


@dataclass(frozen=True)
class Number:
    """A range of integers (``kind=int``) or finite floats, each end closed unless ``*_open``."""
    kind: type = float
    low: Optional[Union[int, float]] = None
    high: Optional[Union[int, float]] = None
    low_open: bool = False
    high_open: bool = False

    @property
    def __name__(self) -> str:  # argparse names a type by its __name__ in some messages
        return "integer" if self.kind is int else "number"

    def describe(self) -> str:
        """``an integer from 1 to 8192``, ``a number >= 0 and < 1``, ``a finite number >= 0``."""
        what = "an integer" if self.kind is int else "a number"
        low, high = _shown(self.low), _shown(self.high)
        if self.low is not None and self.high is not None and not (self.low_open or
                                                                   self.high_open):
            return f"{what} from {low} to {high}"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {low}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {high}")
        if self.kind is float and self.high is None:
            what = "a finite number"
        return " ".join([what, " and ".join(parts)]).strip()

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else
                                      value > self.high):
            return False
        return True

    def __call__(self, text: str):
        """argparse's hook: the value of ``text``, or ArgumentTypeError with the sentence."""
        try:
            value = self.kind(text)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None or not self.accepts(value):
            shown = repr(text) if len(text) <= 40 else f"a text of {len(text):,} characters"
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {shown}")
        return value

    def check(self, flag: str, value):
        """``value`` if it is in range, else UserError: ``expected --port an integer ...``."""
        if value is not None and not self.accepts(value):
            raise UserError(f"expected {flag} {self.describe()}, got {value!r}")
        return value


def _shown(bound) -> str:
    if bound is None:
        return ""
    if isinstance(bound, int) and bound >= BIG and bound & (bound + 1) == 0:
        return f"2**{bound.bit_length()} - 1"  # 2**31 - 1, 2**63 - 1
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def integer(low: int, high: int) -> Number:
    """Integers from ``low`` to ``high`` (both given: a huge integer is always refused)."""
    return Number(int, low, high)


def number(low: Optional[float] = None, high: Optional[float] = None, *,
           low_open: bool = False, high_open: bool = False) -> Number:
    """Finite floats within the bounds given (NaN and infinities are always refused)."""
    return Number(float, low, high, low_open, high_open)


# The ranges most options share (a task's own flags use these, or integer()/number() directly).
COUNT = integer(1, BIG)  # steps, epochs, evaluations, a vocabulary cap, a minimum frequency
SIZE = integer(1, 8192)  # hidden and embedding sizes
LAYERS = integer(1, 64)
BATCH = integer(1, 65536)  # items per batch
TOKENS = integer(1, 100000)  # tokens per sentence or window
RATE = number(0, 1, high_open=True)  # dropout rates, label smoothing
PROBABILITY = number(0, 1)
NON_NEGATIVE = number(0)  # weights of a penalty, a clipping norm, a temperature
TOP_P = number(0, 1, low_open=True)  # nucleus mass
LEARNING_RATE = number(0, 100, low_open=True)
SECONDS = number(0, 10 ** 7, low_open=True)  # a time budget (about 115 days at most)
SEED = integer(0, 2 ** 63 - 1)
BEAM = integer(1, 256)  # beam size, n-best lists
CHARS = integer(1, 10 ** 7)  # characters of a text read at once
COLUMN = integer(-1000, 999)  # a column of a file, from 0; negative counts from the end


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a mistake on the command line is a :class:`UsageError` (one
    sentence, exit status 2, printed by :func:`recurrente.cli.main.main`) instead of the usage
    block and ``sys.exit``; sub-commands get this class too (argparse passes it down). A
    description taken from a module's docstring is shown as plain text (:func:`plain`)."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("description"):
            kwargs["description"] = plain(kwargs["description"])
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")

    def parse_known_args(self, args=None, namespace=None):
        """argparse's, then every :class:`Number` checked once more: argparse skips the type of
        some values (``--hidden=--`` gives ``[]``, never seen by the type)."""
        namespace, extras = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(namespace, action.dest, None)
            if not isinstance(action.type, Number) or value is None or value is action.default:
                continue
            many = action.nargs in ("+", "*")
            values = value if isinstance(value, list) and many else [value]
            if not (values or action.nargs == "*") or \
                    not all(action.type.accepts(v) for v in values):
                self.error(f"argument {'/'.join(action.option_strings) or action.dest}: "
                           f"expected {action.type.describe()}, got {value!r}")
        return namespace, extras


def plain(doc: str) -> str:
    """A docstring as ``--help`` shows it: ````code```` as code, ``:mod:`a.b```` and
    ``:func:`~a.b.c``` as their last name (``b``, ``c``), and ``*word*`` as word."""
    import re
    doc = re.sub(r":\w+:`~?([\w.]+\.)?([\w]+)`", r"\2", doc)  # :mod:`recurrente.x.y` -> y
    doc = re.sub(r"``([^`]+)``", r"\1", doc)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", doc)


class UsageError(UserError):
    """A command line argparse could not read: an unknown option, a missing argument, a number
    out of range."""


def document(parser: argparse.ArgumentParser) -> None:
    """Append its range to the help of every option whose type is a :class:`Number`, in
    ``parser`` and all its sub-commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                document(sub)
        elif isinstance(action.type, Number) and action.help != argparse.SUPPRESS:
            said = f"{action.type.describe()}"
            if said not in (action.help or ""):
                action.help = f"{action.help}; {said}" if action.help else said


def numeric_actions(parser: argparse.ArgumentParser, prefix=()):
    """``(command words, action)`` for every option that takes a number, in the whole tree
    (what the tests sweep): ``type`` a :class:`Number`, or a bare ``int``/``float`` (a flag
    added without its range)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from numeric_actions(sub, (*prefix, name))
        elif isinstance(action.type, Number) or action.type in (int, float):
            yield prefix, action
