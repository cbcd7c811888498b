"""Character language models at equal training time: minGRU and minLSTM against the LSTM default.

Each cell is ``recurrente train CORPUS --cell CELL --time-budget S`` with every other option at
its default (the size recipe picks hidden size and layers for the budget and the cell), in a
fresh process, one after the other; then ``recurrente eval RUN --split test`` on the same
held-out tail. Reported: test loss in nats per character, and each cell's loss against the
LSTM's in the same run.

    python -m benchmarks.min_rnn_lm [--corpus ../shared/data/quijote.txt] [--budget 120]
        [--cells lstm,mingru,minlstm]

Writes ``benchmarks/results/min_rnn_lm.json``.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import write_json


def run(argv: list) -> dict:
    done = subprocess.run([sys.executable, "-m", "recurrente", *argv, "--json"],
                          capture_output=True, text=True, timeout=7200)
    if done.returncode:
        raise RuntimeError(f"recurrente {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=None, help="a text file (default: the embedded one)")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per cell")
    parser.add_argument("--cells", default="lstm,mingru,minlstm")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-minlm-"))
    corpus = [args.corpus] if args.corpus else []
    rows = {}
    for cell in args.cells.split(","):
        out = folder / cell
        train = run(["train", *corpus, "--out", str(out), "--cell", cell,
                     "--time-budget", str(args.budget)])
        test = run(["eval", str(out), "--split", "test"])
        rows[cell] = {"test_loss": test["loss"], "steps": train["steps"],
                      "tokens_per_s": train["items_per_s"],
                      "implementation": train["implementation"]}
        print(f"{cell:<8} test {test['loss']:.4f} nats/char  {train['steps']:>6} steps  "
              f"{train['items_per_s']:>9,.0f} tokens/s [{train['implementation']}]", flush=True)
    if "lstm" in rows:
        for cell, row in rows.items():
            row["loss_vs_lstm"] = row["test_loss"] / rows["lstm"]["test_loss"]
            print(f"{cell:<8} {row['loss_vs_lstm']:.3f}x the LSTM's test loss")
    write_json("min_rnn_lm", {"corpus": args.corpus or "embedded", "budget_s": args.budget,
                              "rows": rows})


if __name__ == "__main__":
    main()
