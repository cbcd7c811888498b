"""``recurrente eval``: score a trained run on held-out data, whatever its task.

The run's task reads the flags after ``RUN`` and scores: a language model its held-out
cross-entropy, perplexity and bits per character (``--baseline ngram:N`` beside an N-gram
model), a classifier its accuracy, macro-F1 and confusion matrix, a tagger its entity F1, a
translator its BLEU and chrF; on the run's test split or on ``--data FILE``.
"""

from recurrente.cli.run_args import add_run_command, task_args

EXAMPLE = """examples:
  recurrente eval runs/python                 # the run's own test split
  recurrente eval runs/python --split valid
  recurrente eval runs/quijote --text otra_novela.txt --json
  recurrente eval runs/quijote --baseline ngram:5    # beside a 5-gram Kneser-Ney model
  recurrente eval runs/sentiment --data reviews_2024.csv   # a classifier: accuracy, F1, ...
  recurrente eval runs/sentiment --help                    # the flags of that run's task"""


def add_parser(subparsers) -> None:
    add_run_command(subparsers, "eval", "score held-out data with a trained run (any task)",
                    __doc__, EXAMPLE, run)


def run(args) -> int:
    spec, cli, parsed = task_args(args, "eval", "recurrente eval")
    return cli.run_eval(parsed)
