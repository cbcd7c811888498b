"""``recurrente sample``: generate text from a trained model, streamed as it is written."""

import argparse
import sys

from recurrente.cli.checks import COUNT, NON_NEGATIVE, SEED, TOP_P, integer

EXAMPLE = """examples:
  recurrente sample runs/quijote --prime "En un lugar" -n 400 --temperature 0.8
  recurrente sample runs/python --prime "def " --top-p 0.9 --num-samples 3 --seed 1
  recurrente sample runs/python --temperature 0          # greedy"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sample", help="generate text from a trained model",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="DIR")
    p.add_argument("--prime", default=None, help="text to start from (default: a line break); "
                   "a backward model writes what comes before it")
    p.add_argument("-n", type=integer(0, 10 ** 6), default=400,
                   help="tokens to generate (default 400)")
    p.add_argument("--temperature", type=NON_NEGATIVE, default=1.0, help="0 = greedy (default 1.0)")
    p.add_argument("--top-k", type=COUNT, default=None, help="sample among the k most likely")
    p.add_argument("--top-p", type=TOP_P, default=None, help="nucleus: smallest set with mass p")
    p.add_argument("--num-samples", type=integer(1, 4096), default=1,
                   help="independent samples, one batch")
    p.add_argument("--seed", type=SEED, default=None, help="make the sample reproducible")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: the large matrix products in bfloat16 on a CPU with bfloat16 "
                        "instructions (AVX-512 BF16, AMX), else fp32 (default fp32)")
    p.set_defaults(run=run)


def _prime_ids(tokenizer, prime):
    if prime is None:  # a line break is the most neutral start a text has
        for start in ("\n", "<eos>", " "):
            if start in tokenizer.stoi:
                return [tokenizer.stoi[start]]
        return [1 if tokenizer.vocab_size > 1 else 0]
    ids = tokenizer.encode_strict(prime)
    if len(ids) == 0:
        from recurrente.errors import UserError
        raise UserError("the prime is empty once normalised; give some text the model knows")
    return [int(i) for i in ids]


def run(args) -> int:
    from recurrente.errors import UserError
    from recurrente.generate.sampling import check_sampling_options
    from recurrente.tasks.lm.inference import stream_tokens
    from recurrente.train.run import load_run
    if args.n < 0:
        raise UserError(f"expected -n >= 0 tokens to generate, got {args.n}")
    if args.num_samples < 1:
        raise UserError(f"expected --num-samples >= 1, got {args.num_samples}")
    check_sampling_options(args.temperature, args.top_k, args.top_p)
    loaded = load_run(args.run_dir, device=args.device, task="lm")
    tok, model = loaded.vocabs["source"], loaded.model
    prime = _prime_ids(tok, args.prime)
    shown = [] if args.prime is None else prime
    texts = [list(model.in_model_order(shown)) for _ in range(args.num_samples)]
    # a backward model writes the text that leads up to the prime: shown once it is complete
    streaming = args.num_samples == 1 and model.direction == "forward"
    printed = 0
    if streaming:
        sys.stdout.write(tok.decode(shown))
        printed = len(tok.decode(shown))
    for step in stream_tokens(model, [model.in_model_order(prime)] * args.num_samples, args.n,
                              args.temperature, args.top_k, args.top_p, args.seed,
                              exclude=[tok.unk_id], precision=args.precision):
        for row, token in zip(texts, step.tolist()):
            row.append(token)
        if streaming:  # print what decoding the new token added
            text = tok.decode(texts[0])
            sys.stdout.write(text[printed:])
            sys.stdout.flush()
            printed = len(text)
    if streaming:
        sys.stdout.write("\n")
    elif args.num_samples == 1:
        print(tok.decode(model.in_model_order(texts[0])))
    else:
        for k, row in enumerate(texts):
            print(f"--- sample {k + 1} ---\n{tok.decode(model.in_model_order(row))}")
    return 0
