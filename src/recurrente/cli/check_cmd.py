"""``recurrente check``: prove on this machine that every implementation agrees."""

import argparse
import json

EXAMPLE = "example:\n  recurrente check            # all cells, all implementations, CUDA if present"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check every implementation against torch.nn and the NumPy reference",
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-cuda", action="store_true", help="skip the GPU comparisons")
    p.add_argument("--json", action="store_true", help="print one JSON object per check")
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    p.set_defaults(run=run)


def describe_kernels() -> str:
    """Which kernels run by default on this machine (users lose days to silent slow paths)."""
    import torch
    from recurrente.layers import registry
    cuda = torch.cuda.is_available()
    native = "cuDNN" if cuda and torch.backends.cudnn.is_available() else "ATen/oneDNN CPU kernels"
    device = "cuda" if cuda else "cpu"
    small, large = 128, registry.FUSED_LSTM_MIN_HIDDEN
    picks = ", ".join(f"{cell} H={h}: {registry.resolve(registry.AUTO, cell, h, device)}"
                      for cell, h in [("rnn", small), ("lstm", small), ("lstm", large), ("gru", small)])
    return (f"implementations: {', '.join(registry.available())}; default: {registry.DEFAULT} "
            f"on {device} picks {picks}; native runs {native}; torch {torch.__version__}")


def run(args) -> int:
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
