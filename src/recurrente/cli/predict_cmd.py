"""``recurrente predict``: run a trained model on new input, whatever its task.

Loads the run by the model class its ``config.json`` names and hands over to that task's
``predict`` (for a classifier: one line per text, its label and probability). A language model
writes text instead: ``recurrente sample``.
"""

import argparse
import importlib

EXAMPLE = """examples:
  recurrente predict runs/reviews texts.txt
  echo "una película preciosa" | recurrente predict runs/reviews --top-k 2 --json"""


def add_parser(subparsers) -> None:
    from recurrente.cli.classify_cmd import add_predict_arguments
    p = subparsers.add_parser("predict", help="run a trained model on new input (any task)",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from recurrente.errors import UserError
    from recurrente.tasks import registry
    from recurrente.train.checkpoint import read_config
    name = read_config(args.run_dir).get("model", {}).get("class", "LanguageModel")
    spec = registry.task_of_model(name)
    if spec.name == "lm":
        raise UserError(f"{args.run_dir} is a language model, which writes text rather than "
                        f"labelling it: use 'recurrente sample {args.run_dir}'")
    return importlib.import_module(f"recurrente.cli.{spec.name}_cmd").run_predict(args)
