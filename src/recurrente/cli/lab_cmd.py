"""recurrente lab: the long-dependency experiments, each cell under the same time budget.

Experiments: adding (Hochreiter & Schmidhuber 1997), copy (Arjovsky et al. 2016),
selective-copy (symbols at random places to pick out and recall: Gu & Dao 2023), parity (the
running parity of a bit string: state tracking, Beck et al. 2024), digits (scikit-learn's 8x8 digits read one pixel per step; --permute shuffles the pixel
order once), gradient-flow (‖∂L/∂H_t‖ against the distance to the loss, at
initialisation and after a short training on the adding problem), and caption (one-to-many:
a decoder conditioned on a digit image writes its Spanish name, letter by letter).
"""

import argparse
import json

from recurrente.cli.checks import BATCH, COUNT, LAYERS, LEARNING_RATE, SEED, SIZE, number
from recurrente.errors import UserError

EXPERIMENTS = ("adding", "copy", "selective-copy", "parity", "digits", "gradient-flow",
               "caption")
MAX_T = 10000  # the longest sequence an experiment may ask for
DEFAULT_BUDGET = {"adding": 40.0, "copy": 60.0, "selective-copy": 60.0, "parity": 30.0,
                  "digits": 40.0, "gradient-flow": 20.0,
                  "caption": 20.0}
EXAMPLE = """examples:
  recurrente lab adding --T 50,100,200 --cells rnn,lstm,gru --time-budget 40 --out runs/adding
  recurrente lab digits --permute --cells rnn,lstm --json
  recurrente lab selective-copy --T 64 --cells lstm,gru,mingru,minlstm --layers 2
  recurrente lab parity --T 50 --cells lstm,gru,mingru,minlstm --time-budget 30
  recurrente lab gradient-flow --T 100 --out runs/flow
  recurrente lab caption --cells lstm,gru --time-budget 20 --out runs/caption

Every (cell, T) is trained for the same number of seconds; the table says whether it beat the
task's 'solved' threshold (see recurrente.lab.tasks.make_task). For digits T is always 64."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "lab", help="experiments: adding, copy, selective-copy, parity, digits, gradient-flow, "
                    "caption",
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", metavar="EXPERIMENT", help=" | ".join(EXPERIMENTS))
    p.add_argument("--T", dest="T", default=None,
                   help="comma-separated sequence lengths (defaults: adding 50,100,200; copy "
                        "10,20,50; selective-copy 32,64; parity 20,50; digits 64, the only value "
                        "it accepts; gradient-flow 100)")
    p.add_argument("--cells", default="rnn,lstm,gru",
                   help="comma-separated: rnn, lstm, gru, mingru, minlstm (default rnn,lstm,gru)")
    p.add_argument("--time-budget", type=number(0, 10 ** 7), default=None,
                   help="training seconds per (cell, T) (default: adding 40, copy 60, "
                        "selective-copy 60, parity 30, digits 40, gradient-flow 20, caption 20)")
    p.add_argument("--max-steps", type=COUNT, default=None,
                   help="also stop at this many steps (alone with --time-budget 0: repeatable)")
    p.add_argument("--out", default=None, help="output directory (default runs/lab-EXPERIMENT)")
    p.add_argument("--seed", type=SEED, default=0, help="random seed (default 0)")
    p.add_argument("--hidden", type=SIZE, default=None, help="hidden size H (task default)")
    p.add_argument("--layers", type=LAYERS, default=None,
                   help="stacked layers (task default: 2 for selective-copy, else 1)")
    p.add_argument("--lr", type=LEARNING_RATE, default=None,
                   help="AdamW learning rate (task default)")
    p.add_argument("--batch-size", type=BATCH, default=None, help="sequences per batch (task "
                                                                    "default)")
    p.add_argument("--implementation", default=None, help="native (default), scratch, fused")
    p.add_argument("--permute", action="store_true", help="digits: fixed pixel permutation")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line per (cell, T) on stdout; no progress")
    p.set_defaults(run=run)


def parse_list(text: str, what: str) -> list:
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise UserError(f"expected a comma-separated list for {what}, got {text!r}")
    return items


def parse_T(text, experiment: str) -> list:
    from recurrente.lab.tasks import DEFAULT_T
    if experiment == "caption":
        if text is not None:
            raise UserError("caption has no --T: every image is one vector, every name a few "
                            "letters")
        return []
    if text is None:
        return [100] if experiment == "gradient-flow" else DEFAULT_T[experiment]
    try:
        values = [int(v) for v in parse_list(text, "--T")]
    except ValueError:
        raise UserError(f"expected --T as integers separated by commas, got {text!r}") from None
    bad = [v for v in values if not 1 <= v <= MAX_T]
    if bad:
        raise UserError(f"expected every T from 1 to {MAX_T}, got {bad[0]}")
    return values


def _options(args):
    """Validate the options shared by every experiment; return (T list, cells, budget, impl).
    The implementation is checked by the layer itself (a UserError from the lab's model)."""
    from recurrente.lab.model import check_cell
    from recurrente.layers.registry import DEFAULT
    if args.experiment not in EXPERIMENTS:
        raise UserError(f"unknown lab experiment {args.experiment!r}; expected one of "
                        f"{', '.join(EXPERIMENTS)}")
    cells = [check_cell(c) for c in parse_list(args.cells, "--cells")]
    implementation = args.implementation or DEFAULT
    budget = DEFAULT_BUDGET[args.experiment] if args.time_budget is None else args.time_budget
    if budget < 0 or (budget == 0 and not args.max_steps):
        raise UserError(f"expected --time-budget > 0 (or 0 with --max-steps), got {budget:g}")
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError(f"expected --max-steps >= 1, got {args.max_steps}")
    for name in ("hidden", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"expected --{name.replace('_', '-')} >= 1, got {value}")
    return parse_T(args.T, args.experiment), cells, budget or None, implementation


def run(args) -> int:
    T_values, cells, budget, implementation = _options(args)
    out = args.out or f"runs/lab-{args.experiment}"
    if args.experiment == "gradient-flow":
        return _run_flow(args, T_values, cells, budget, implementation, out)
    if args.experiment == "caption":
        return _run_caption(args, cells, budget, implementation, out)
    from recurrente.lab.run import CURVES_PNG, RESULTS_JSON, run_lab
    emit = (lambda r: print(json.dumps(_public(r)), flush=True)) if args.json else None
    results = run_lab(args.experiment, T_values, cells, budget, seed=args.seed, out_dir=out,
                      hidden=args.hidden, implementation=implementation, permute=args.permute,
                      lr=args.lr, batch_size=args.batch_size, progress=not args.json,
                      max_steps=args.max_steps, on_result=emit, layers=args.layers)
    if not args.json:
        print_table(results)
        solved = sum(r["solved"] for r in results)
        print(f"{results[0]['task']}: {solved} of {len(results)} runs solved "
              f"({_rule(results[0])}); wrote {out}/{RESULTS_JSON} and {out}/{CURVES_PNG}")
    return 0


def _public(result: dict) -> dict:
    """A result without its learning curve (that lives in results.json)."""
    return {k: v for k, v in result.items() if k != "curve"}


def _rule(r: dict) -> str:
    return f"solved = {r['rule']}"


def print_table(results) -> None:
    metric = results[0]["metric"]
    print(f"{'cell':<6}{'T':>5}  {metric:>13}  {'baseline':>9}  {'threshold':>9}  "
          f"{'steps':>6}  solved")
    for r in results:
        print(f"{r['cell']:<6}{r['T']:>5}  {r[metric]:>13.4g}  {r['baseline']:>9.4g}  "
              f"{r['threshold']:>9.4g}  {r['steps']:>6}  {'yes' if r['solved'] else 'no'}")
    theory = results[0]["baseline_theory"]
    if theory is not None:
        print(f"baseline: measured on the held-out set; theory {_theory_text(results[0])}")


def _theory_text(r: dict) -> str:
    if r["task"] == "adding":
        return f"Var(u_a + u_b) = 1/6 = {r['baseline_theory']:.4f} for every T"
    if r["task"] == "selective-copy":
        return "8 ln 8 / (T + 9), equal to the measured value by construction"
    if r["task"] == "parity":
        return "(1 + (T - 1)/2) / T: step 1 right, a guess after it"
    return "10 ln 8 / (T + 20), equal to the measured value by construction"


def _run_flow(args, T_values, cells, budget, implementation, out) -> int:
    from recurrente.lab.run import FLOW_JSON, FLOW_PNG, run_gradient_flow
    if len(T_values) != 1:
        raise UserError(f"gradient-flow takes one T, got {len(T_values)}")
    T = T_values[0]
    if T < 2:
        raise UserError(f"gradient-flow runs on the adding problem, which needs T >= 2, got {T}")
    records = run_gradient_flow(T, cells, budget, args.seed, out, args.hidden, implementation,
                                max_steps=args.max_steps, progress=not args.json)
    for r in records:
        if args.json:
            print(json.dumps({k: v for k, v in r.items() if not k.startswith("norms_")}))
    if not args.json:
        print_flow_table(records)
        print(f"gradient flow at T={T}: {len(records)} cells, at initialisation and after "
              f"training; wrote {out}/{FLOW_JSON} and {out}/{FLOW_PNG}")
    return 0


def print_flow_table(records) -> None:
    keys = list(records[0]["survival_init"])
    head = "".join(f"{'k=' + k:>10}" for k in keys)
    print(f"{'cell':<6}{'when':<9}{'|dL/dH_T|':>11}{head}  spectral radius of W_hh blocks")
    for r in records:
        for when in ("init", "trained"):
            norm0 = r[f"norms_{when}"][0]
            ratios = "".join(f"{r[f'survival_{when}'][k]:>10.2e}" for k in keys)
            radii = "; ".join(" ".join(f"{g}={v:.2f}" for g, v in blocks.items())
                              for blocks in r[f"spectral_radius_{when}"].values())
            print(f"{r['cell']:<6}{when:<9}{norm0:>11.3e}{ratios}  {radii}")
    print("columns k=...: |dL/dH_{T-k}| / |dL/dH_T|, the gradient surviving k steps (batch "
          "mean); after training, mse: " + ", ".join(f"{r['cell']} {r['mse']:.4f}"
                                                       for r in records))


def _run_caption(args, cells, budget, implementation, out) -> int:
    from recurrente.lab.caption import CAPTION_JSON, CAPTIONS_PNG, run_caption
    results = run_caption(cells, budget, args.seed, out, args.hidden, implementation, args.lr,
                          args.batch_size, args.max_steps, progress=not args.json)
    for r in results:
        if args.json:
            print(json.dumps({k: v for k, v in r.items() if k != "captions"}))
    if not args.json:
        print(f"{'cell':<6}{'exact match':>12}{'CER':>8}{'steps':>8}")
        for r in results:
            print(f"{r['cell']:<6}{r['exact']:>12.3f}{r['cer']:>8.3f}{r['steps']:>8}")
        r = results[0]
        print(f"caption: {len(results)} cells, {r['test_images']} held-out images; a logistic "
              f"regression reading the whole image classifies {r['baseline_accuracy']:.3f} of "
              f"them; wrote {out}/{CAPTION_JSON} and {out}/{CAPTIONS_PNG}")
    return 0
