"""``--nproc N`` on every ``train`` command: data-parallel training on this machine.

``recurrente train CORPUS --out runs/x --nproc 4`` is the same as::

    torchrun --standalone --nproc-per-node 4 -m recurrente train CORPUS --out runs/x

torch's own launcher (``torch.distributed.run``) runs here, in this process, and starts N copies
of the command without ``--nproc``; each copy sees torchrun's environment and trains as one rank
(:mod:`recurrente.train.distributed`). Rank 0 prints the log, the progress and the summary; a
failure is said once, by the process that met it, and this command exits with the status of the
process that failed first (130 after Ctrl-C, which every process turns into "finish the step,
checkpoint, stop").

Each process gets ``OMP_NUM_THREADS = cores / N`` unless the variable is set. For several
machines, run torchrun on each of them (README, "Scaling out").
"""

import logging
import os
import uuid
from typing import List

from recurrente.errors import UserError

QUIET_LOGGERS = ("torch.distributed.elastic", "torch.distributed.run",
                 "torch.distributed.launcher")  # and every logger below them


def without_nproc(argv: List[str]) -> List[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def launch(argv: List[str], nproc: int, args) -> int:
    """Run the command of ``argv`` in ``nproc`` processes (or here, for ``nproc == 1``)."""
    if nproc < 1:
        raise UserError(f"expected --nproc >= 1, got {nproc}")
    if "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UserError("--nproc starts torchrun itself; under torchrun, leave it out")
    if nproc == 1:
        return int(args.run(args) or 0)
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch
    from torch.distributed.run import config_from_args, get_args_parser

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    options = get_args_parser().parse_args(
        ["--nnodes", "1", "--nproc-per-node", str(nproc), "--rdzv-backend", "c10d",
         "--rdzv-endpoint", "localhost:0", "--rdzv-id", str(uuid.uuid4()),
         "-m", "recurrente", *without_nproc(argv)])
    quiet = [name for name in logging.root.manager.loggerDict  # each has its own level
             if name.startswith(QUIET_LOGGERS)]
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name in quiet:  # the workers say what went wrong; torchrun's report is noise here
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        config, command, command_args = config_from_args(options)
        elastic_launch(config=config, entrypoint=command)(*command_args)
        return 0
    except ChildFailedError as e:
        return _exit_status(e.failures)
    except SignalException as e:
        return 128 + int(e.sigval)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _exit_status(failures: dict) -> int:
    """The exit status of the process that failed first (the others were stopped by torchrun's
    SIGTERM because of it), 128 + the signal number for one killed by a signal, as a shell
    says it: 2 for an error a user can fix, 130 after Ctrl-C, 137 for a process killed."""
    failure = min(failures.values(), key=lambda f: f.timestamp)
    code = failure.exitcode
    if code < 0:
        return 128 + (-code)
    return code or 1
