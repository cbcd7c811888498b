"""``recurrente predict``: run a trained model on new input, whatever its task.

Loads the run by the model class its ``config.json`` names and hands the input and flags after
``RUN`` to that task's ``predict`` (a classifier: one line per text, its label and probability;
a tagger: the entities in the sentence; a translator: the translation). A language model writes
text instead: ``recurrente sample``.
"""

from recurrente.cli.run_args import add_run_command, task_args

EXAMPLE = """examples:
  recurrente predict runs/reviews texts.txt
  echo "una película preciosa" | recurrente predict runs/reviews --top-k 2 --json
  echo "¿Dónde está la biblioteca?" | recurrente predict runs/es-en --beam 5
  recurrente predict runs/reviews --help             # the flags of that run's task"""


def add_parser(subparsers) -> None:
    add_run_command(subparsers, "predict", "run a trained model on new input (any task)",
                    __doc__, EXAMPLE, run)


def run(args) -> int:
    from recurrente.errors import UserError
    spec, cli, parsed = task_args(args, "predict", "recurrente predict")
    if parsed is None:
        instead = getattr(cli, "PREDICT_INSTEAD", "")
        raise UserError(f"{args.run_dir} is a {spec.title}, which has no predict"
                        + (f"; {instead.format(run=args.run_dir)}" if instead else ""))
    return cli.run_predict(parsed)
