"""Teacher forcing against scheduled sampling, at equal training time, scored on free-running
output.

Translation: recurrente's default translator on the data of ``benchmarks/translate.py``
(Quijote clauses → respelled, reversed), trained for ``--budget`` seconds each with

* teacher forcing (the decoder always reads the gold previous token), and
* scheduled sampling (Bengio et al. 2015): per token, the gold previous token with probability
  ``ε`` and the model's own previous prediction otherwise, ``ε`` falling linearly over the run
  from 1 to a floor (``--floors``, default 0.75 and 0.5);

all at the same time, one process of one thread each. Scored by the BLEU and chrF of greedy
(and beam-5) translations of the 1,000 test pairs: free-running output, where exposure bias
would show.

(The language model's half of the experiment, ``recurrente train --scheduled-sampling``, is
``benchmarks/lm_teacher_forcing.py``.)

With ``--steps N`` every run trains for N steps instead (the schedules then decay over N
steps), which separates what scheduled sampling does to learning from what it costs per step
(its decoder computes the output layer step by step, to read its own predictions).

    python -m benchmarks.teacher_forcing [--budget 90 | --steps 500] [--floors 0.75,0.5]
"""

import argparse
import functools
import tempfile
from pathlib import Path

from benchmarks.common import write_json
from benchmarks.translate import make_files, run_ours, side_by_side


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=90.0, help="training seconds each")
    parser.add_argument("--steps", type=int, default=None,
                        help="train every run for this many steps instead of --budget seconds")
    parser.add_argument("--floors", default="0.75,0.5",
                        help="the scheduled-sampling floors k (comma-separated)")
    args = parser.parse_args()
    floors = [float(f) for f in args.floors.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp))
        budget = None if args.steps else args.budget
        run = functools.partial(run_ours, max_steps=args.steps)
        jobs = {"teacher forcing": (run, (files, budget, f"{tmp}/tf"))}
        for k in floors:
            jobs[f"scheduled sampling, linear to {k:g}"] = (
                functools.partial(run, scheduled_sampling="linear", sampling_k=k),
                (files, budget, f"{tmp}/ss{k}"))
        results = side_by_side(jobs)
    print(f"{'':<36}{'steps':>7}{'seconds':>9}{'BLEU':>8}{'chrF':>8}{'BLEU beam 5':>13}")
    for name, r in results.items():
        print(f"{name:<36}{r['steps']:>7}{r['train_seconds']:>9.0f}{r['test_bleu']:>8.2f}"
              f"{r['test_chrf']:>8.2f}{r['test_bleu_beam5']:>13.2f}")
    name = "teacher_forcing_steps" if args.steps else "teacher_forcing"
    path = write_json(name, {"budget": budget, "steps": args.steps, "translate": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
