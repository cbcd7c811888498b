"""The tasks' result objects as the JSON the command line and the server print."""


def as_dicts(results) -> list:
    """``[r.to_dict() for r in results]``: a ``predict``'s answers as plain dicts."""
    return [r.to_dict() for r in results]


def texts(translations) -> list:
    """``[t.text for t in translations]``: a ``translate``'s best translations."""
    return [t.text for t in translations]
