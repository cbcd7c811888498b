"""``recurrente notebooks``: copy the course notebooks out of the installed package."""

import argparse
from importlib import resources
from pathlib import Path

from recurrente.errors import UserError

LANGS = ("es", "en")
DEFAULT_DIR = "recurrente-notebooks"

EXAMPLE = """examples:
  recurrente notebooks                      # into ./recurrente-notebooks/es and .../en
  recurrente notebooks --lang es cuadernos  # the Spanish notebooks, into ./cuadernos
  pip install 'recurrente[notebooks]' && jupyter lab recurrente-notebooks"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("notebooks", help="copy the course notebooks into a folder",
                              description=__doc__ + "\n\n" + _details(), epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", nargs="?", default=DEFAULT_DIR,
                   help=f"where to copy them (default ./{DEFAULT_DIR})")
    p.add_argument("--lang", choices=LANGS,
                   help="one language only, straight into DIR (default: both, into DIR/es "
                        "and DIR/en)")
    p.set_defaults(run=run)


def _details() -> str:
    return ("The notebooks (the Elman RNN and its gradients, LSTM and GRU from the equations, "
            "truncated BPTT and clipping, perplexity, ...) are the same in Spanish and English; "
            "they are stored without outputs. Existing files are never overwritten. To open "
            "them: pip install 'recurrente[notebooks]', then jupyter lab DIR.")


def notebooks(lang: str) -> list:
    """The packaged notebooks of one language (``es`` or ``en``): importlib resources, by name."""
    folder = resources.files("recurrente.notebooks").joinpath(lang)
    if not folder.is_dir():
        return []
    return sorted((f for f in folder.iterdir() if f.name.endswith(".ipynb")), key=lambda f: f.name)


def run(args) -> int:
    out = Path(args.dir)
    plan = []  # (resource, destination)
    for lang in ([args.lang] if args.lang else LANGS):
        dest = out if args.lang else out / lang
        plan += [(f, dest / f.name) for f in notebooks(lang)]
    if not plan:
        raise UserError("this installation of recurrente has no notebooks; reinstall it from a "
                        "wheel or a checkout of the repository")
    existing = [str(d) for _, d in plan if d.exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise UserError(f"expected a folder without the notebooks, but {existing[0]}{more} "
                        "already exist; choose another DIR or remove them")
    for src, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes())
    folders = sorted({str(d.parent) for _, d in plan})
    print(f"wrote {len(plan)} notebooks to {', '.join(folders)}:")
    for _, dest in plan:
        print(f"  {dest}")
    print(f"to open them: pip install 'recurrente[notebooks]'  then  jupyter lab {out}")
    return 0
