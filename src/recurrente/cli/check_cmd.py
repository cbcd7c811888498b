"""``recurrente check``: prove on this machine that every implementation agrees."""

import argparse
import json

from recurrente.cli.checks import integer

EXAMPLE = ("examples:\n  recurrente check            # all cells, all implementations, CUDA if present\n"
           "  recurrente check --speed    # what implementation='auto' picks here, measured now")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check every implementation against torch.nn and the NumPy reference",
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-cuda", action="store_true", help="skip the GPU comparisons")
    p.add_argument("--json", action="store_true", help="print one JSON object per check")
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument("--speed", action="store_true",
                   help="instead: time native and fused for each cell on this machine, for "
                        "training and inference, print the table and cache what auto picks")
    p.add_argument("--hidden", type=integer(1, 8192), nargs="+", default=[128, 512],
                   metavar="H", help="hidden sizes for --speed (default 128 512)")
    p.add_argument("--batch", type=integer(1, 4096), default=32, help="batch for --speed "
                                                                      "(default 32)")
    p.set_defaults(run=run)


def describe_kernels() -> str:
    """Which kernels run by default on this machine (users lose days to silent slow paths)."""
    import torch
    from recurrente.layers import autotune, registry
    cuda = torch.cuda.is_available()
    native = "cuDNN" if cuda and torch.backends.cudnn.is_available() else "ATen/oneDNN CPU kernels"
    device = "cuda" if cuda else "cpu"
    if autotune.enabled():
        cached = autotune.cached_decisions(device)
        how = (f"measured on this machine the first time each case runs ({len(cached)} cases "
               f"cached in {autotune.cache_path()}; recurrente check --speed shows them)")
    else:
        small, large = 128, 512
        how = "from the table (RECURRENTE_AUTOTUNE=0): " + ", ".join(
            f"{cell} H={h}: {registry.resolve(registry.AUTO, cell, h, device)}"
            for cell, h in [("rnn", small), ("lstm", small), ("lstm", large), ("gru", small)])
    return (f"implementations: {', '.join(registry.available())}; default: {registry.DEFAULT} "
            f"on {device}, {how}; native runs {native}; torch {torch.__version__}")


def run_speed(args) -> int:
    import torch
    from recurrente.layers.autotune import MAX_STEPS
    from recurrente.speed import print_table, speed_table
    device = "cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu"
    rows = speed_table(hidden=args.hidden, batch=args.batch, steps=MAX_STEPS, device=device)
    if args.json:
        for r in rows:
            print(json.dumps(r.as_dict()))
    else:
        print_table(rows, args.batch, MAX_STEPS)
    return 0


def run(args) -> int:
    if args.speed:
        return run_speed(args)
    from recurrente.check import run_checks
    print(describe_kernels())
    rows = run_checks(cuda=False if args.no_cuda else None)
    if args.json:
        for r in rows:
            print(json.dumps({"cell": r.cell, "implementation": r.implementation, "check": r.what,
                              "max_abs_diff": r.max_abs_diff, "tolerance": r.tolerance, "ok": r.ok}))
    elif not args.quiet:
        print(f"{'cell':<17}{'implementation':<16}{'check':<37}{'max abs diff':>13}  verdict")
        for r in rows:
            print(f"{r.cell:<17}{r.implementation:<16}{r.what:<37}{r.max_abs_diff:>13.2e}  "
                  f"{'ok' if r.ok else 'FAIL'}")
    failed = [r for r in rows if not r.ok]
    if args.quiet and not args.json:
        for r in failed:
            print(f"FAIL {r.cell} {r.implementation}: {r.what}: {r.max_abs_diff:.2e}")
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
