"""``recurrente export``: a trained run as ONNX graphs, parity-checked against PyTorch."""

import argparse

from recurrente.cli.checks import integer
from recurrente.export import OPSETS

EXAMPLE = """examples:
  recurrente export runs/python --out exported/python        # lm_sequence.onnx, lm_step.onnx
  recurrente export runs/reviews --out exported/reviews      # classifier.onnx
  recurrente export runs/ner --out exported/ner              # tagger.onnx + crf.json"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a trained run as ONNX graphs",
                              description=__doc__ + "\n\n" + _details(), epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="onnx (the only one)")
    p.add_argument("--out", required=True, help="a new folder for the graphs and the manifest")
    p.add_argument("--opset", type=integer(*OPSETS), default=17, help="ONNX opset (default 17)")
    p.set_defaults(run=run)


def _details() -> str:
    return ("The graphs run torch.nn's recurrent layers (ONNX's RNN/LSTM/GRU operators) with the "
            "run's weights, whatever implementation it trained with, with dynamic batch and time "
            "axes; each is checked against the model in onnxruntime (max abs difference printed, "
            "failure above 1e-4). Needs pip install 'recurrente[export]'.")


def run(args) -> int:
    from recurrente.export.onnx import export_run
    manifest = export_run(args.run_dir, args.out, opset=args.opset)
    print(f"exported {', '.join(g['file'] for g in manifest['graphs'].values())} and "
          f"manifest.json to {args.out}")
    return 0
