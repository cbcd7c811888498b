"""``python -m recurrente``: the ``recurrente`` command, so that ``torchrun -m recurrente train
...`` starts the same command in every process of a data-parallel run."""

import sys

from recurrente.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
