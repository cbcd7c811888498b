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
