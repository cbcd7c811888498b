"""The ``recurrente`` command: a thin dispatcher over one module per subcommand.

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int``. Errors a user can
fix (:class:`recurrente.errors.UserError`) print one sentence and exit with status 2.
"""

import argparse
import importlib
import sys
from typing import List, Optional

from recurrente.errors import UserError

COMMANDS = ["check", "train", "eval", "sample", "classify", "tag", "translate", "predict",
            "export", "serve", "lab", "inspect", "diagnose"]


def _available_commands() -> list:
    modules = []
    for name in COMMANDS:
        try:
            modules.append(importlib.import_module(f"recurrente.cli.{name}_cmd"))
        except ModuleNotFoundError as e:
            if e.name != f"recurrente.cli.{name}_cmd":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    from recurrente import __version__
    parser = argparse.ArgumentParser(
        prog="recurrente", description="Recurrent neural networks you can read, trust and train.")
    parser.add_argument("--version", action="version", version=f"recurrente {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _available_commands():
        module.add_parser(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable --out, a file where a folder should be, a full disk
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
