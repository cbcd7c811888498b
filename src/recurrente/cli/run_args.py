"""``recurrente eval RUN ...`` and ``recurrente predict RUN ...`` for a run of any task: the run's
``config.json`` names its model class, the registry its task, and the task's ``cli.py`` the flags
that follow ``RUN`` (``add_eval_arguments``/``add_predict_arguments``), read by a parser of their
own once the task is known. So each task keeps its own flags, and ``recurrente eval RUN --help``
shows the ones of that run's task.
"""

import argparse


def add_run_command(subparsers, name: str, help: str, description: str, example: str,
                    run) -> None:
    """A command ``NAME RUN [ARGS...]``: ``ARGS`` are read by the run's task (see module doc)."""
    p = subparsers.add_parser(name, help=help, description=description, epilog=example,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN", help="a run directory (any task)")
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="the input and flags of the run's task (see RUN --help)")
    p.set_defaults(run=run)


def task_args(args, verb: str, prog: str):
    """``args.run_dir`` and ``args.rest`` read with the flags of the run's task's ``verb``
    (``eval`` or ``predict``): ``(spec, cli module, parsed namespace)``, the namespace None when
    that task has no such verb."""
    from recurrente.cli.checks import Parser, UsageError, document
    from recurrente.train.run import task_of_run
    spec = task_of_run(args.run_dir)
    cli = spec.part("cli")
    add_arguments = getattr(cli, f"add_{verb}_arguments", None)
    if add_arguments is None:
        return spec, cli, None
    parser = Parser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description=getattr(cli, "VERBS", {}).get(verb),
                    epilog=getattr(cli, f"{verb.upper()}_EXAMPLE", getattr(cli, "EXAMPLE", None)))
    add_arguments(parser)
    document(parser)
    try:
        return spec, cli, parser.parse_args([args.run_dir, *args.rest])
    except UsageError as e:  # the help that lists these flags is the run's own
        raise UsageError(str(e).replace(f"(see {prog} --help)",
                                        f"(see {prog} {args.run_dir} --help)")) from None
