"""onnxruntime against PyTorch on the exported graphs: batch-1 generation steps and classifier
sentences per second, measured in one run, interleaved.

Both sides run the same weights: PyTorch the trained model (``native`` layers, inference
mode), onnxruntime the exported graph (``lm_step.onnx``, ``classifier.onnx``). Untrained models
of the default sizes are enough for speed: a 2×128 LSTM language model over 100 symbols, and a
1×128 BiLSTM classifier with max pooling over 5,000 words.

    python -m benchmarks.export [--steps 400] [--repeats 5]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import interleaved, write_json
from recurrente.export.onnx import export_run
from recurrente.tasks.classify.model import SequenceClassifier
from recurrente.tasks.lm.model import LanguageModel


def save_run(model, folder: Path, task: str, vocabs: dict) -> Path:
    from recurrente.train import checkpoint
    from recurrente.train.checkpoint import save_vocabs
    checkpoint.save_model(model, folder)
    checkpoint.update_config(folder, task=task, options={})
    save_vocabs(folder, vocabs)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import onnxruntime as ort
    from recurrente.data.tokenizers import CharTokenizer
    from recurrente.data.vocab import Vocab
    root = Path(tempfile.mkdtemp(prefix="bench-export-"))
    torch.manual_seed(0)
    lm = LanguageModel(100, hidden_size=128, num_layers=2, implementation="native").eval()
    chars = CharTokenizer([chr(0x4e00 + i) if i else "<unk>" for i in range(100)])
    export_run(save_run(lm, root / "lm", "lm", {"source": chars}), root / "lm.onnx",
               log=lambda *a: None)
    clf = SequenceClassifier(5000, 2, implementation="native").eval()
    words = Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(4998)], ["<pad>", "<unk>"],
                  split="word")
    export_run(save_run(clf, root / "clf", "classify", {"source": words,
                                                        "labels": Vocab(["a", "b"])}),
               root / "clf.onnx", log=lambda *a: None)
    step = ort.InferenceSession(str(root / "lm.onnx" / "lm_step.onnx"))
    classify = ort.InferenceSession(str(root / "clf.onnx" / "classifier.onnx"))
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 41, size=args.sentences)
    sentences = [rng.integers(2, 5000, size=n) for n in lengths]

    @torch.inference_mode()
    def torch_generate():
        state, token = None, torch.zeros(1, 1, dtype=torch.long)
        for _ in range(args.steps):
            logits, state = lm(token, state)
            token = logits[-1].argmax(-1, keepdim=True)

    def ort_generate():
        feeds = {"ids": np.zeros(1, dtype=np.int64), "h0": np.zeros((2, 1, 128), np.float32),
                 "c0": np.zeros((2, 1, 128), np.float32)}
        for _ in range(args.steps):
            logits, h, c = step.run(None, feeds)
            feeds = {"ids": logits.argmax(-1), "h0": h, "c0": c}

    def ort_classify():
        from recurrente.data.padded import pad
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            ids, n = pad([sentences[i] for i in idx], 0)
            classify.run(None, {"ids": ids.numpy(), "lengths": n.numpy()})

    times = interleaved({"torch generate": torch_generate, "onnxruntime generate": ort_generate,
                         "torch classify": lambda: clf.predict_ids(sentences, 64),
                         "onnxruntime classify": ort_classify}, args.repeats)
    rates = {k: (args.steps if "generate" in k else args.sentences) / s for k, s in times.items()}
    for name, rate in rates.items():
        unit = "steps/s" if "generate" in name else "sentences/s"
        print(f"  {name:<22} {rate:>10,.0f} {unit}")
    result = {"rates": rates,
              "generate_ratio": rates["onnxruntime generate"] / rates["torch generate"],
              "classify_ratio": rates["onnxruntime classify"] / rates["torch classify"]}
    print(f"onnxruntime / PyTorch: batch-1 generation {result['generate_ratio']:.2f}x, "
          f"classifier {result['classify_ratio']:.2f}x")
    write_json("export", result)


if __name__ == "__main__":
    main()
