"""Matplotlib plumbing shared by the diagnostic plots: the Agg backend, and small PNGs."""

from pathlib import Path
from typing import Optional

from recurrente.io import atomic_write

COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed); a clear error without it."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        from recurrente.errors import UserError
        raise UserError("plots need matplotlib; install it with pip install "
                        "'recurrente[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, dpi: Optional[float] = None) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders created, atomically) and free it; ``dpi``
    defaults to matplotlib's ``savefig.dpi``."""
    plt = pyplot()
    path = Path(path)
    options = {} if dpi is None else {"dpi": dpi}
    try:  # the temporary name has no .png suffix, so the format is given
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", **options))
    finally:
        plt.close(fig)
    return path
