"""Matplotlib plumbing shared by the diagnostic plots: the Agg backend, and small PNGs."""

from pathlib import Path

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


def save(fig, path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders created) and free it."""
    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
