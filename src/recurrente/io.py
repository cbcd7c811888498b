"""Writing user files safely: a temporary file in the same folder, then one ``os.replace``.

A crash, SIGKILL or Ctrl-C at any moment leaves either the old file or the new one, never half
of one. This module imports no torch, so the NumPy reference and the data layer can use it.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then move the result onto ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file its usual mode
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path, what: str):
    """The JSON in ``path`` (UTF-8, lone surrogates allowed); one sentence naming ``what`` (e.g.
    ``"vocabulary"``) when it is missing or unreadable."""
    from recurrente.errors import UserError
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8", "surrogatepass"))
    except FileNotFoundError:
        raise UserError(f"{what} file not found: {path}") from None
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read the {what} {path}: {err}") from None
