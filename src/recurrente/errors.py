"""The one exception type the command line turns into a single sentence and a non-zero exit.

Library code raises :class:`UserError` (a ``ValueError``) for anything a user can fix: a missing
file, a corrupt checkpoint, an option out of range. The CLI prints ``error: <message>`` and exits
with status 2; it never shows a traceback for these.
"""


class UserError(ValueError):
    """Bad input from the user; the message is one sentence saying what was expected and what came."""


def check_choice(flag: str, value, choices) -> None:
    """UserError unless ``value`` is one of ``choices``: ``expected --pooling max or mean, got 'x'``."""
    if value not in choices:
        raise UserError(f"expected {flag} {' or '.join(map(str, choices))}, got {value!r}")


def check_positive(values: dict) -> None:
    """UserError for the first of ``{flag: value}`` below 1: ``expected --hidden >= 1, got 0``."""
    for flag, value in values.items():
        if value < 1:
            raise UserError(f"expected {flag} >= 1, got {value}")


def check_rates(values: dict, include_one: bool = False) -> None:
    """UserError for the first of ``{flag: value}`` outside ``[0, 1)`` (``[0, 1]`` with
    ``include_one``): ``expected --dropout in [0, 1), got 1.0``."""
    for flag, value in values.items():
        if not (0 <= value <= 1 if include_one else 0 <= value < 1):
            raise UserError(f"expected {flag} in [0, {'1]' if include_one else '1)'}, got {value}")
