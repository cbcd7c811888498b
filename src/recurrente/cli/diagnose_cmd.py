"""``recurrente diagnose``: the health of a trained model, in numbers and plots.

For a run directory: the spectral radius of each gate block of every layer's W_hh (largest
|eigenvalue|; above 1 the linear recurrence can amplify, below it shrinks), the gradient norm
before clipping over training and the fraction of clipped steps, the learning curves (bits per
character and perplexity), and, with --text, each gate's histogram and saturation (fraction of
activations below 0.1 and above 0.9) on that text.
"""

import argparse
import json

from recurrente.cli.checks import CHARS

EXAMPLE = """examples:
  recurrente diagnose runs/x                                  # spectrum, clipping, curves
  recurrente diagnose runs/x --text sample.txt --out figs/    # and the gates on a text
  recurrente diagnose runs/seq --compare runs/rand            # learning curves side by side"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose", help="spectral radii, gradient clipping, curves and gate saturation of a run",
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="DIR", help="a run directory made by recurrente train")
    p.add_argument("--text", metavar="FILE", help="measure the gates on this text")
    p.add_argument("--out", metavar="DIR2", default=None,
                   help="where the PNGs and diagnostics.json go (default DIR/diagnostics)")
    p.add_argument("--compare", metavar="RUN", nargs="+", default=[],
                   help="other runs whose learning curves to draw beside this one")
    p.add_argument("--max-chars", type=CHARS, default=20000,
                   help="read at most this many characters of --text (default 20000)")
    p.add_argument("--encoding", default="utf-8", help="encoding of --text (default utf-8)")
    p.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    p.set_defaults(run=run)


def print_summary(result: dict) -> None:
    from recurrente.diagnostics.gates import LABELS
    print(f"run {result['run']}: {result['model']}")
    print("spectral radius of each W_hh gate block (largest |eigenvalue|; σ_max = largest "
          "singular value)")
    print(f"  {'layer':<6}{'dir':<5}{'block':<7}{'radius':>8}{'σ_max':>8}")
    for r in result["spectral"]:
        print(f"  {r['layer']:<6}{'rev' if r['direction'] else 'fwd':<5}{r['gate']:<7}"
              f"{r['spectral_radius']:>8.3f}{r['largest_singular_value']:>8.3f}")
    c = result["clipping"]
    if c is not None:
        threshold = f"θ = {c['clip']:g}" if c["clip"] else "clipping off"
        print(f"gradient clipping ({threshold}): {c['clipped_steps']} of {c['steps']} steps "
              f"clipped ({c['clipped_fraction']:.1%}); pre-clip norm median "
              f"{c['grad_norm_median']:.3g}, max {c['grad_norm_max']:.3g}")
    for label, best in (result["curves"] or {}).items():
        if best:
            print(f"best validation of {label}: loss {best['valid_loss']:.4f} nats, perplexity "
                  f"{best['valid_perplexity']:.3f}, {best['valid_bits_per_token']:.3f} bits "
                  f"per {result['unit']} (step {best['step']})")
    g = result["gates"]
    if g is not None:
        print(f"gate saturation on {g['text']} ({g['tokens']} steps): left < low, right > high")
        print(f"  {'layer':<6}{'gate':<6}{'mean':>7}{'left':>8}{'right':>8}")
        for s in g["table"]:
            print(f"  {s['layer']:<6}{LABELS[s['gate']]:<6}{s['mean']:>7.3f}"
                  f"{s['left_saturated']:>8.3f}{s['right_saturated']:>8.3f}")
    for note in result["notes"]:
        print(f"note: {note}")


def run(args) -> int:
    from recurrente.diagnostics.report import diagnose_run
    result = diagnose_run(args.run_dir, args.out, args.text, args.max_chars, args.compare,
                          args.encoding)
    print_summary(result)
    print(f"wrote {len(result['files'])} files: {', '.join(result['files'])}")
    if args.json:
        print(json.dumps(result))
    return 0
