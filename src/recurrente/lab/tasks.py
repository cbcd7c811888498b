"""The lab's long-dependency tasks, generated here (nothing is downloaded), deterministic by seed.

Each generator takes ``n`` (how many sequences), ``T`` and a NumPy ``Generator`` and returns
time-major float inputs ``x (T_in, n, D)`` and targets ``y``. :func:`make_task` wraps one of them
into a :class:`LabTask`: sizes, readout, metric, the memoryless baseline and the ``solved`` rule.

**Adding problem** (Hochreiter & Schmidhuber 1997; the form of Le, Jaitly & Hinton 2015). Step t
carries ``X_t = (u_t, m_t)`` with ``u_t ~ U[0, 1]`` and a marker ``m_t ∈ {0, 1}``. Exactly two
markers are set, one at a uniform position in the first half ``[0, ⌊T/2⌋)`` and one in the second
half ``[⌊T/2⌋, T)``; the target is ``y = u_a + u_b``, the sum of the two marked values, read from
``H_T``. Predicting the mean, 1, always scores ``MSE = Var(u_a + u_b) = 2/12 = 1/6 ≈ 0.167``.

**Copy memory** (Arjovsky, Shah & Bengio 2016). Categories ``0`` (blank), ``1..8`` (symbols) and
``9`` (delimiter). The input has ``T + 20`` steps: 10 symbols drawn uniformly with replacement
from ``1..8``, then ``T - 1`` blanks, the delimiter, and 10 more blanks. The target is ``T + 10``
blanks followed by the 10 symbols, in order; the loss is the cross-entropy of every one of the
``T + 20`` outputs. A memoryless net that has learnt the layout but not the content predicts the
blank for sure and the 10 recalled symbols uniformly: ``CE = 10 ln 8 / (T + 20)`` per step.

**Selective copying** (Gu & Dao 2023; Feng et al. 2024 solve it with three minGRU layers). The
input has ``T + 1 + 8`` steps: ``T`` steps of blanks among which 8 symbols from ``1..8`` sit at
random positions (sorted, so their order is the reading order), the delimiter, then 8 blanks.
The target is blanks, then the 8 symbols in order. Unlike copy memory the symbols are not at
fixed places: the net has to decide, from each input alone, what to keep, which a gate computed
from ``X_t`` can do (minGRU, minLSTM). Memoryless: ``CE = 8 ln 8 / (T + 9)`` per step.

**Parity** (the state-tracking task of Beck et al. 2024, xLSTM): ``T`` bits, and at every step
the target is the parity of the bits read so far, ``y_t = (b_1 + ... + b_t) mod 2``. One bit
flips the answer for good, so the state must be a flip-flop; a net that is linear in its state
(minGRU, minLSTM, mLSTM) cannot hold one for long sequences, a nonlinear recurrence (an LSTM,
sLSTM) can. Memoryless (``X_t`` alone) gets step 1 right and half the others:
``accuracy = (1 + (T - 1)/2) / T``.

**Sequential digits** (the 8×8 cousin of pixel-by-pixel MNIST, Le et al. 2015): scikit-learn's
bundled digits read one pixel per step in row-major order, ``T = 64`` always; ``permute=True``
applies one fixed permutation of the 64 positions (the same for every run and every seed), which
puts dependent pixels far apart. Baseline: logistic regression on the flattened image.
"""

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

import numpy as np

from recurrente.errors import UserError

TASKS = ("adding", "copy", "selective-copy", "parity", "digits")
COPY_SYMBOLS, COPY_LENGTH, COPY_CATEGORIES = 8, 10, 10  # symbols 1..8, recall 10, inputs 0..9
SELECTIVE_LENGTH = 8  # symbols to pick out and recall in selective copying
DIGITS_T = 64
PERMUTATION_SEED = 1234  # the fixed permutation of --permute does not depend on --seed


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A generator determined by ``(seed, *keys)`` only, e.g. ``(seed, epoch, index)``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


# -- generators --------------------------------------------------------------------------------
def adding_problem(n: int, T: int, rng: np.random.Generator):
    """``x (T, n, 2)`` of (value, marker) pairs and ``y (n,)``, the sum of the marked values."""
    if T < 2:
        raise UserError(f"the adding problem needs T >= 2 (one marker per half), got T={T}")
    values = rng.random((T, n))  # (T, n)
    half = T // 2
    first = rng.integers(0, half, size=n)  # (n,) a position in [0, T/2)
    second = rng.integers(half, T, size=n)  # (n,) a position in [T/2, T)
    markers = np.zeros((T, n))
    columns = np.arange(n)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    y = values[first, columns] + values[second, columns]  # (n,)
    x = np.stack([values, markers], axis=-1)  # (T, n, 2)
    return x.astype(np.float32), y.astype(np.float32)


def copy_memory(n: int, T: int, rng: np.random.Generator):
    """One-hot ``x (T+20, n, 10)`` and class targets ``y (T+20, n)`` in ``0..8`` (module doc)."""
    if T < 1:
        raise UserError(f"the copy task needs a gap T >= 1, got T={T}")
    L = COPY_LENGTH
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(L, n))  # (10, n) in 1..8
    steps = T + 2 * L
    inputs = np.zeros((steps, n), dtype=np.int64)  # (T+20, n), blanks
    inputs[:L] = symbols
    inputs[L + T - 1] = COPY_CATEGORIES - 1  # the delimiter closes the gap
    y = np.zeros((steps, n), dtype=np.int64)  # (T+20, n)
    y[T + L:] = symbols
    x = np.eye(COPY_CATEGORIES, dtype=np.float32)[inputs]  # (T+20, n, 10)
    return x, y


def copy_memoryless_baseline(T: int) -> float:
    """The formula ``10 ln 8 / (T + 20)`` of Arjovsky et al. (2016)."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (T + 2 * COPY_LENGTH)


def copy_memoryless_log_probs(T: int) -> np.ndarray:
    """``(T+20, 9)`` log-probabilities of the memoryless predictor: blank for sure, then uniform."""
    log_p = np.full((T + 2 * COPY_LENGTH, COPY_SYMBOLS + 1), -np.inf)
    log_p[:T + COPY_LENGTH, 0] = 0.0
    log_p[T + COPY_LENGTH:, 1:] = -math.log(COPY_SYMBOLS)
    return log_p


def selective_copy(n: int, T: int, rng: np.random.Generator):
    """One-hot ``x (T+9, n, 10)`` and class targets ``y (T+9, n)`` in ``0..8`` (module doc)."""
    K = SELECTIVE_LENGTH
    if T < K:
        raise UserError(f"selective copying needs T >= {K} (its {K} symbols sit among T steps), "
                        f"got T={T}")
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(K, n))  # (K, n) in 1..8
    places = np.sort(rng.random((T, n)).argsort(axis=0)[:K], axis=0)  # (K, n) distinct, sorted
    steps = T + 1 + K
    inputs = np.zeros((steps, n), dtype=np.int64)  # (T+1+K, n), blanks
    inputs[places, np.arange(n)] = symbols
    inputs[T] = COPY_CATEGORIES - 1  # the delimiter
    y = np.zeros((steps, n), dtype=np.int64)
    y[T + 1:] = symbols
    return np.eye(COPY_CATEGORIES, dtype=np.float32)[inputs], y  # (T+1+K, n, 10), (T+1+K, n)


def selective_memoryless_log_probs(T: int) -> np.ndarray:
    """``(T+9, 9)``: blank for sure, then each recalled symbol uniform over ``1..8``."""
    log_p = np.full((T + 1 + SELECTIVE_LENGTH, COPY_SYMBOLS + 1), -np.inf)
    log_p[:T + 1, 0] = 0.0
    log_p[T + 1:, 1:] = -math.log(COPY_SYMBOLS)
    return log_p


def parity(n: int, T: int, rng: np.random.Generator):
    """One-hot bits ``x (T, n, 2)`` and running parities ``y (T, n)`` in ``{0, 1}``."""
    bits = rng.integers(0, 2, size=(T, n))  # (T, n)
    return np.eye(2, dtype=np.float32)[bits], np.cumsum(bits, axis=0) % 2


def parity_memoryless_accuracy(T: int) -> float:
    """Step 1's parity is its bit; after it, a guess: ``(1 + (T - 1) / 2) / T``."""
    return (1 + (T - 1) / 2) / T


def load_digit_splits(permute: bool = False, test_fraction: float = 0.25):
    """``{"train": (x, y), "test": (x, y)}`` with ``x (64, n, 1)`` in [0, 1]; a fixed split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise UserError("the digits task needs scikit-learn: pip install 'recurrente[lab]'") from e
    data = load_digits()
    images = (data.data / 16.0).astype(np.float32)  # (N, 64), row-major pixels
    if permute:
        images = images[:, rng_for(PERMUTATION_SEED).permutation(DIGITS_T)]
    order = rng_for(0, 1).permutation(len(images))  # one split for every run
    n_test = int(round(test_fraction * len(images)))
    parts = {"test": order[:n_test], "train": order[n_test:]}
    return {name: (images[idx].T[:, :, None].copy(), data.target[idx].astype(np.int64))
            for name, idx in parts.items()}


def logistic_baseline(splits) -> float:
    """Held-out accuracy of a logistic regression that sees the whole flattened image at once."""
    from sklearn.linear_model import LogisticRegression
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    flat = lambda x: x[:, :, 0].T  # noqa: E731  (64, n, 1) -> (n, 64)
    model = LogisticRegression(max_iter=2000).fit(flat(x_train), y_train)
    return float(model.score(flat(x_test), y_test))


# -- the task record ---------------------------------------------------------------------------
@dataclass
class LabTask:
    """What a run needs to know about one task at one T.

    ``metric`` is ``mse`` / ``cross_entropy`` (lower is better) or ``accuracy`` (higher is
    better); ``threshold`` is the value the metric has to beat for ``solved``.
    """
    name: str
    T: int
    input_size: int
    output_size: int  # 1 for regression, else the number of classes
    readout: str  # "last": from H_T only;  "all": from every H_t
    metric: str
    baseline: float  # measured on the held-out set
    baseline_theory: Optional[float]  # the closed form, where there is one
    threshold: float
    sample: Optional[Callable] = None  # (n, rng) -> (x, y), synthetic tasks only
    heldout: tuple = ()  # (x, y) NumPy arrays, fixed for the run
    train: tuple = ()  # (x, y) for dataset tasks (digits)
    defaults: Dict[str, float] = field(default_factory=dict)
    rule: str = ""  # the solved rule in words, e.g. "mse < 0.05 x baseline"

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    def solved(self, value: float) -> bool:
        return value >= self.threshold if self.higher_is_better else value < self.threshold


# Thresholds, one principle: "solved" means the net removed at least 90-95% of what the
# memoryless baseline leaves unexplained (see the docstring of make_task).
ADDING_FRACTION, COPY_FRACTION, DIGITS_MARGIN = 0.05, 0.1, 0.05
PARITY_SOLVED = 0.95  # parity: 95% of the running parities right
DEFAULTS = {
    "adding": {"hidden": 32, "batch_size": 32, "lr": 1e-2, "heldout": 2000},
    "copy": {"hidden": 128, "batch_size": 64, "lr": 1e-2, "heldout": 500},
    "selective-copy": {"hidden": 64, "batch_size": 64, "lr": 5e-3, "heldout": 500, "layers": 2},
    "parity": {"hidden": 32, "batch_size": 64, "lr": 5e-3, "heldout": 500},
    "digits": {"hidden": 64, "batch_size": 32, "lr": 5e-3},
}
DEFAULT_T = {"adding": [50, 100, 200], "copy": [10, 20, 50], "selective-copy": [32, 64],
             "parity": [20, 50], "digits": [DIGITS_T]}


def make_task(name: str, T: int, seed: int = 0, permute: bool = False) -> LabTask:
    """Build the :class:`LabTask` ``name`` at ``T``; the held-out set depends on ``seed`` only.

    ``solved`` rules (each against the baseline measured on the same held-out set):

    - adding: ``MSE < 0.05 × baseline``. The baseline is the target's variance, so this is
      ``R² > 0.95``: the net explains 95% of the variance of the sum.
    - copy: ``CE < 0.1 × baseline``: the net removed 90% of the ``10 ln 8`` nats of uncertainty
      about the 10 symbols, i.e. at most ``0.1 ln 8 ≈ 0.21`` nats per recalled symbol.
    - selective copy: the same rule over its 8 symbols.
    - parity: ``accuracy ≥ 0.95`` over every step's running parity (memoryless: about 0.5).
    - digits: ``accuracy ≥ baseline - 0.05``: within 5 points of a classifier that sees the
      whole image at once, although the net sees one pixel per step. ``T`` must be 64.
    """
    if name not in TASKS:
        raise UserError(f"unknown lab task {name!r}; expected one of {', '.join(TASKS)}")
    if T < 1:
        raise UserError(f"expected T >= 1, got T={T}")
    if name == "digits":
        return _digits_task(T, permute)
    if permute:
        raise UserError(f"--permute applies to the digits task only, got task {name!r}")
    defaults = dict(DEFAULTS[name])
    generate = {"adding": adding_problem, "copy": copy_memory, "selective-copy": selective_copy,
                "parity": parity}[name]
    sample = lambda n, rng: generate(n, T, rng)  # noqa: E731
    x, y = sample(int(defaults.pop("heldout")), rng_for(seed, 2 ** 31 - 1))
    if name == "adding":
        baseline = float(np.mean((y - 1.0) ** 2))
        return LabTask(name, T, 2, 1, "last", "mse", baseline, 1 / 6,
                       ADDING_FRACTION * baseline, sample, (x, y), defaults=defaults,
                       rule=f"mse < {ADDING_FRACTION:g} x baseline")
    if name == "parity":
        memoryless = parity_memoryless_accuracy(T)
        return LabTask(name, T, 2, 2, "all", "accuracy", memoryless, memoryless, PARITY_SOLVED,
                       sample, (x, y), defaults=defaults, rule=f"accuracy >= {PARITY_SOLVED:g}")
    selective = name == "selective-copy"
    log_p = (selective_memoryless_log_probs if selective else copy_memoryless_log_probs)(T)
    baseline = float(-np.take_along_axis(log_p, y, axis=1).mean())
    theory = (SELECTIVE_LENGTH * math.log(COPY_SYMBOLS) / (T + 1 + SELECTIVE_LENGTH) if selective
              else copy_memoryless_baseline(T))
    return LabTask(name, T, COPY_CATEGORIES, COPY_SYMBOLS + 1, "all", "cross_entropy", baseline,
                   theory, COPY_FRACTION * baseline, sample, (x, y),
                   defaults=defaults, rule=f"cross_entropy < {COPY_FRACTION:g} x baseline")


def _digits_task(T: int, permute: bool) -> LabTask:
    if T != DIGITS_T:
        raise UserError(f"sequential digits have T = 64 (8x8 pixels, one per step), got T={T}")
    splits = load_digit_splits(permute)
    baseline = logistic_baseline(splits)
    return LabTask("digits-permuted" if permute else "digits", DIGITS_T, 1, 10, "last",
                   "accuracy", baseline, None, baseline - DIGITS_MARGIN,
                   heldout=splits["test"], train=splits["train"], defaults=dict(DEFAULTS["digits"]),
                   rule=f"accuracy >= baseline - {DIGITS_MARGIN:g}")
