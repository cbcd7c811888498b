"""``recurrente inspect``: what the cells and gates of a trained model do, character by character.

Writes one self-contained HTML page (no network needed to open it): the text once per chosen
cell, each character coloured by that cell's value after reading it, the model's five most likely
next characters on hover, and a first row with each character's surprisal.
"""

import argparse
import json

from recurrente.cli.checks import CHARS, COUNT, integer

EXAMPLE = r"""examples:
  recurrente inspect runs/x --text sample.txt --html out.html              # first 5 cells of H_t
  recurrente inspect runs/x --text sample.txt --html out.html --cells 3,17 --gate c
  recurrente inspect runs/x --text code.py --html quotes.html --find '"[^"\n]*"'   # quote cells
  recurrente inspect runs/x --text code.py --html parens.html --find '\([^)]*\)' --layer 0
gates: h (H_t), c (C_t), i f o g (LSTM I_t F_t O_t C~_t), r z n (GRU R_t Z_t H~_t)"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect", help="an HTML page of cell and gate activations over a text",
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="DIR", help="a run directory made by recurrente train")
    p.add_argument("--text", required=True, metavar="FILE", help="the text to read")
    p.add_argument("--html", metavar="OUT", default=None,
                   help="page to write (default DIR/inspect.html)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--cells", metavar="N,M", help="cell indices to show")
    which.add_argument("--find", metavar="REGEX",
                       help="rank cells by |correlation| with 'inside a match of REGEX'")
    p.add_argument("--layer", type=integer(0, 63), default=None,
                   help="layer to show, from 0 (default the last)")
    p.add_argument("--gate", default="h", choices=["h", "c", "i", "f", "o", "g", "r", "z", "n"],
                   help="quantity to show (default h, the hidden state H_t)")
    p.add_argument("--top", type=COUNT, default=5, help="cells to show with --find or by default")
    p.add_argument("--max-chars", type=CHARS, default=3000,
                   help="read at most this many characters of FILE (default 3000)")
    p.add_argument("--encoding", default="utf-8", help="encoding of FILE (default utf-8)")
    p.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from recurrente.diagnostics.report import inspect_page, parse_cells
    cells = parse_cells(args.cells) if args.cells is not None else None
    out = args.html if args.html is not None else Path(args.run_dir) / "inspect.html"
    summary = inspect_page(args.run_dir, args.text, out, cells=cells, find=args.find,
                           layer=args.layer, gate=args.gate, max_chars=args.max_chars,
                           top=args.top, encoding=args.encoding)
    if summary["ranking"]:
        print(f"{'rank':<6}{'cell':<6}{'r':>8}{'inside':>9}{'outside':>9}")
        for k, s in enumerate(summary["ranking"], start=1):
            print(f"{k:<6}{s['cell']:<6}{s['r']:>+8.3f}{s['mean_inside']:>+9.3f}"
                  f"{s['mean_outside']:>+9.3f}")
    cells_text = ",".join(str(c) for c in summary["cells"])
    print(f"wrote {summary['html']}: cells {cells_text} of layer {summary['layer']} "
          f"({args.gate}) over {summary['tokens']} tokens; {summary['note']}")
    if args.json:
        print(json.dumps(summary))
    return 0
