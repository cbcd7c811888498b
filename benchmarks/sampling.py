"""Sampling speed at batch 1: the generation engine against stepping torch.nn.LSTM per token.

Model: a 2x512 LSTM character model (V=100). Baseline: the same weights in ``torch.nn.LSTM``,
called once per token (embedding -> LSTM -> linear -> sample), as a user would write it. Also
reported: the engine with ``precision="bf16"``, and two bounds on the engine's speed:

- memory bandwidth: (bytes of weights read per token) / (copy bandwidth measured here), since
  at batch 1 every weight is read once per token. It binds only when the weights do not fit in
  the CPU's cache; a 2x512 LSTM's 12 MB fit in the Zen 5's L3, and then
- the products: the time of the engine's matrix-vector products alone, each timed by itself on
  its own arranged weights, summed per token: what is left if the gates, the sampling and the
  Python of a step cost nothing.

    python -m benchmarks.sampling [--hidden 512] [--tokens 400] [--repeats 5]
"""

import argparse
import time

import torch

from benchmarks.common import interleaved, write_json
from recurrente import LanguageModel
from recurrente.generate.sampling import pick_next
from recurrente.tasks.lm.inference import stream_tokens


def torch_nn_stepper(model):
    """The baseline: torch.nn.LSTM with the model's weights, stepped one token per call."""
    rnn = torch.nn.LSTM(model.rnn.input_size, model.rnn.hidden_size, model.rnn.num_layers)
    rnn.load_state_dict(model.rnn.state_dict())
    rnn.eval()

    @torch.inference_mode()
    def run(n: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        token, state = torch.tensor([1]), None
        for _ in range(n):
            out, state = rnn(model.embedding(token).view(1, 1, -1), state)
            token = pick_next(model.head(out[0]), 1.0, None, None, gen)
    return run


def copy_bandwidth(megabytes: int = 512) -> float:
    """Bytes per second moved by a large tensor copy (read + write)."""
    src = torch.ones(megabytes * 2 ** 20 // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = min(_timed(lambda: dst.copy_(src)) for _ in range(5))
    return 2 * src.numel() * 4 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def weight_bytes_per_token(model) -> int:
    """What the engine reads per token: W_hh of layer 0 (its input part is a table row), the
    stacked [W_ih | W_hh] of each further layer, the table row, and the output layer."""
    H, V, L = model.rnn.hidden_size, model.vocab_size, model.rnn.num_layers
    floats = 4 * H * H + (L - 1) * 4 * H * 2 * H + 4 * H + V * H + V
    return 4 * floats


def products_bound(model, precision: str = "fp32", calls: int = 400) -> float:
    """Tokens/s if a token cost only the engine's products (see the module docstring)."""
    from recurrente.generate.engine import GenerationEngine
    engine = GenerationEngine(model, batch=1, precision=precision)
    engine.prime(torch.tensor([[1]]))
    engine.step(torch.tensor([1]))
    products = [p for layer in engine.layers for p in layer.products.values()] + [engine.head]
    seconds = 0.0
    with torch.inference_mode():
        for p in products:
            x = torch.randn(1, p.w.shape[1])
            p(x)
            best = min(_timed(lambda: [p(x) for _ in range(calls)]) for _ in range(3))
            seconds += best / calls
    return 1.0 / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = LanguageModel(100, cell="lstm", hidden_size=args.hidden, num_layers=2).eval()
    baseline = torch_nn_stepper(model)
    engine = lambda: list(stream_tokens(model, [[1]], args.tokens, 1.0, seed=0))  # noqa: E731
    engine_bf16 = lambda: list(stream_tokens(model, [[1]], args.tokens, 1.0, seed=0,  # noqa
                                             precision="bf16"))
    plain = lambda: list(stream_tokens(model, [[1]], args.tokens, 1.0, seed=0, fast=False))  # noqa
    timings = interleaved({"torch.nn.LSTM stepped": lambda: baseline(args.tokens),
                           "model forward stepped": plain, "engine": engine,
                           "engine bf16": engine_bf16}, args.repeats)
    rates = {k: args.tokens / v for k, v in timings.items()}
    bandwidth = copy_bandwidth()
    bound = bandwidth / weight_bytes_per_token(model)
    speedup = rates["engine"] / rates["torch.nn.LSTM stepped"]
    print(f"2x{args.hidden} LSTM char model, batch 1, {args.tokens} tokens x {args.repeats}")
    for name, rate in rates.items():
        print(f"  {name:<24}{rate:>10,.0f} tokens/s  "
              f"{rate / rates['torch.nn.LSTM stepped']:6.2f}x")
    print(f"engine / torch.nn.LSTM stepped = {speedup:.2f}x (target >= 8x)")
    bounds = {p: products_bound(model, p) for p in ("fp32", "bf16")}
    for p, b in bounds.items():
        name = "engine" if p == "fp32" else "engine bf16"
        print(f"products-only bound ({p}): {b:,.0f} tokens/s = "
              f"{b / rates['torch.nn.LSTM stepped']:.1f}x the baseline; {name} at "
              f"{rates[name] / b:.0%} of it")
    print(f"memory-bandwidth bound: {bandwidth / 1e9:.1f} GB/s copy / "
          f"{weight_bytes_per_token(model) / 1e6:.1f} MB per token = {bound:,.0f} tokens/s; "
          f"engine at {rates['engine'] / bound:.0%} of it; the bound itself is "
          f"{bound / rates['torch.nn.LSTM stepped']:.1f}x the torch.nn.LSTM stepping baseline")
    write_json("sampling", {"hidden": args.hidden, "tokens_per_s": rates, "speedup": speedup,
                            "copy_bandwidth": bandwidth, "bound_tokens_per_s": bound,
                            "fraction_of_bound": rates["engine"] / bound,
                            "products_bound_tokens_per_s": bounds,
                            "speedup_bf16": rates["engine bf16"] / rates["torch.nn.LSTM stepped"]})


if __name__ == "__main__":
    main()
