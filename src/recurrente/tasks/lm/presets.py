"""Named sets of options for ``recurrente train --preset NAME``; explicit flags still win."""

from recurrente.errors import UserError

PRESETS = {
    # The course's experiment: letters of the Quijote, windows of 32, 32 hidden units, one layer,
    # for each of rnn, lstm, gru (choose with --cell).
    "quijote-course": dict(corpus="quijote", tokenizer="char", normalize="spanish-letters",
                           seq_len=32, hidden=32, embedding=32, layers=1, batch_size=32,
                           dropout=0.0, partition="random"),
    # A larger character model, for long budgets (hours) or a GPU.
    "char-large": dict(tokenizer="char", seq_len=128, hidden=512, layers=2, batch_size=32,
                       dropout=0.1),
    # Seconds, not minutes: for smoke tests and first contact.
    "tiny": dict(seq_len=32, hidden=64, layers=1, batch_size=16, dropout=0.0),
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; expected one of {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])
