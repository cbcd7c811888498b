"""``recurrente <task> train|eval|predict`` for every task whose folder has a ``cli.py`` with
``VERBS``: one generic command module, so a new task brings its flags and printers and nothing
here changes.

A task's ``cli.py`` gives ``HELP`` (one line), ``DATA_HELP`` (the ``DATA`` argument of
``train``), ``EXAMPLE``, ``VERBS`` (verb -> one line of help), the flag tables ``DATA_FLAGS`` and
``MODEL_FLAGS`` (``{flag: (type, help)}``, each filling the options field of the same name) and
``SWITCHES`` (``{flag: help}``, ``store_true``), ``add_eval_arguments``/``run_eval`` and
``add_predict_arguments``/``run_predict``. ``train`` is the same for every task: the flags make
the options (:func:`recurrente.cli.common.options_from_args`), and the shared run plumbing
trains them. A switch that the spec's ``flag_names`` gives as a field's flag turns that field off
(``--unidirectional`` sets ``bidirectional`` to False); any other switch turns its own field on.
"""

import argparse

from recurrente.cli.common import add_train_arguments, field_of


def add_parser(subparsers) -> None:
    from recurrente.tasks import registry
    for name in registry.names():
        cli = registry.part(name, "cli")  # light: the flags, not the task's data or model code
        if cli is not None and hasattr(cli, "VERBS"):
            add_task_command(subparsers, name, cli)


def add_task_command(subparsers, name: str, cli) -> None:
    """``recurrente NAME train|eval|predict`` from the task's ``cli`` module (module doc)."""
    raw = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(name, help=cli.HELP, description=cli.__doc__,
                              epilog=cli.EXAMPLE, formatter_class=raw)
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    for verb, text in cli.VERBS.items():
        v = sub.add_parser(verb, help=text, description=text, epilog=cli.EXAMPLE,
                           formatter_class=raw)
        if verb == "train":
            v.add_argument("data", metavar="DATA", nargs="?", help=cli.DATA_HELP)
            add_train_arguments(v, {"data": cli.DATA_FLAGS, "model": cli.MODEL_FLAGS},
                                cli.SWITCHES)
            v.set_defaults(run=lambda args, name=name, cli=cli: run_train(args, name, cli))
        else:
            getattr(cli, f"add_{verb}_arguments")(v)
            v.set_defaults(run=getattr(cli, f"run_{verb}"))
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_train(args, name: str, cli) -> int:
    """Options from the flags (switches read as the module doc says), then train or resume."""
    from recurrente.cli.common import options_from_args, run_training
    from recurrente.tasks import registry
    spec = registry.task(name)
    flags = [*cli.DATA_FLAGS, *cli.MODEL_FLAGS]
    turns_off = {flag: field for field, flag in spec.flag_names.items()}
    for switch in cli.SWITCHES:
        if switch in turns_off:
            field = turns_off[switch]
            setattr(args, field, False if getattr(args, field_of(switch)) else None)
            flags.append("--" + field.replace("_", "-"))
        else:
            flags.append(switch)
    opts = options_from_args(args, spec, flags, positional=args.data)
    return run_training(args, spec, opts, f"recurrente {spec.name} train")
