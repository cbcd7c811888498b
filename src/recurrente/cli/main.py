"""The ``recurrente`` command: a thin dispatcher over one module per subcommand.

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int``. Errors a user can
fix (:class:`recurrente.errors.UserError`) print one sentence and exit with status 2; so does a
command line argparse cannot read, and every number out of its option's range
(:mod:`recurrente.cli.checks`), before the command runs.
"""

import argparse
import importlib
import os
import sys
from typing import List, Optional

from recurrente.errors import UserError

COMMANDS = ["check", "train", "eval", "sample", "task", "predict", "export", "serve", "notebooks",
            "lab", "inspect", "diagnose"]  # "task": a command per registered task (task_cmd.py)


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
    from recurrente.cli.checks import Parser, document
    parser = Parser(
        prog="recurrente", description="Recurrent neural networks you can read, trust and train.")
    parser.add_argument("--version", action="version", version=f"recurrente {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _available_commands():
        module.add_parser(subparsers)
    document(parser)  # every numeric option's help says what it accepts
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help()
            return 2
        if getattr(args, "nproc", None) is not None:  # data-parallel: start torchrun (launch.py)
            from recurrente.cli.launch import launch
            return launch(list(sys.argv[1:] if argv is None else argv), args.nproc, args)
        return int(args.run(args) or 0)
    except UserError as e:
        if _says_it(e):
            print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable --out, a file where a folder should be, a full disk
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if _says_it(None):
            print("interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as e:  # options in range that together need too much
        if not _out_of_memory(e):
            raise
        print("error: out of memory: the model or a batch is too large for this machine; try a "
              "smaller --hidden, --layers, --batch-size or input", file=sys.stderr)
        return 2


def _out_of_memory(e: BaseException) -> bool:
    """torch's allocation failures: ``torch.OutOfMemoryError`` (CUDA), the CPU allocator's
    RuntimeError, or Python's MemoryError."""
    return isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError" or \
        "can't allocate memory" in str(e)


def _says_it(error: Optional[UserError]) -> bool:
    """In a data-parallel run (torchrun's ``RANK`` and ``WORLD_SIZE``) every process meets the
    same bad option (or Ctrl-C): rank 0 says it, the others exit quietly, except with an error
    of their own (``every_rank``: a process of the run was lost)."""
    if getattr(error, "echo", False):
        return False
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    return rank == 0 or world <= 1 or getattr(error, "every_rank", False)


if __name__ == "__main__":
    sys.exit(main())
