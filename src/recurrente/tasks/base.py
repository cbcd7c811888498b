"""What a task is: a model that follows one contract, and the spec that registers it.

**The model** is an ``nn.Module`` with ``loss(batch, state=None) -> (loss_sum, count, state)``:

- ``loss_sum``: the *sum* of per-item losses in the batch (a scalar tensor with a graph);
- ``count``: how many items were summed (tokens, sequences), so metrics are sums over counts
  and never averages of averages;
- ``state``: the recurrent state to carry into the next batch (sequential partitioning), or
  ``None``. The trainer detaches it between batches: truncated backpropagation through time.

The state is the one deviation from a pure ``loss(batch)``: a module never keeps state on
``self``, so the state has to travel through the call.

**The spec** (:class:`TaskSpec`) is what a task gives the shared plumbing
(:mod:`recurrente.train.run`, :mod:`recurrente.cli.common`): its options, how to prepare its data
(vocabularies, batches, an evaluator), how to build its model, and the metric it is judged by.
Everything else (run directory, resume, checkpoints, loading, the trainer, the command skeleton)
is the same for every task.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from torch import Tensor, nn

LossOutput = Tuple[Tensor, int, Optional[Any]]


class Task(nn.Module):
    """Base class: subclasses implement :meth:`loss`, keep their constructor arguments in
    ``self._config`` and their recurrent layer in ``self.rnn``.

    ``count_unit`` names what ``count`` counts (the progress bar's rate: ``tok/s``, ``seq/s``);
    ``reports_perplexity`` puts ``exp(loss)`` beside the training loss.
    """

    _config: dict
    rnn: nn.Module
    count_unit = "tok"
    reports_perplexity = False
    vocabs: Dict[str, Any] = {}  # role -> vocabulary (:meth:`attach`): what text in/out needs
    limits: Dict[str, Any] = {}  # the run's options prediction obeys, e.g. ``max_len``

    def loss(self, batch, state=None) -> LossOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def on_train_step(self, step: int, fraction: float) -> None:
        """Called by the trainer before every training step with the steps done so far and
        the fraction of the run done (what the cosine schedule follows); a task whose training
        changes over the run (scheduled sampling) reads it here. Default: nothing."""

    def config(self) -> dict:
        """Constructor arguments, JSON-able, enough to rebuild the module."""
        return dict(self._config)

    @property
    def cell(self) -> str:
        return self._config["cell"]

    # -- self-contained: vocabularies and limits travel with the weights ----------------------
    def attach(self, vocabs: Dict[str, Any], limits: Optional[Dict[str, Any]] = None) -> "Task":
        """Keep the vocabularies (role -> vocabulary) and limits (option -> value, each also an
        attribute: ``model.max_len``) that turn text into ids and back; returns the model."""
        self.vocabs = dict(vocabs)
        self.limits = dict(limits or {})
        for name, value in self.limits.items():
            setattr(self, name, value)
        return self

    def save(self, directory) -> None:
        """``config.json`` (the class and its constructor arguments, the limits),
        ``model.safetensors`` and ``vocabs/<role>.json``: what :meth:`load` rebuilds from."""
        from pathlib import Path

        from recurrente.train.checkpoint import save_model, save_vocabs, update_config
        save_model(self, Path(directory))
        update_config(Path(directory), limits=self.limits)
        save_vocabs(Path(directory), self.vocabs)

    @classmethod
    def load(cls, directory, device="cpu", implementation: Optional[str] = None) -> "Task":
        """The model of a run directory (its best weights) or of :meth:`save`, with its
        vocabularies and limits, in eval mode; another class's directory is refused in one
        sentence (:func:`recurrente.load` takes a run of any task)."""
        from recurrente.device import resolve_device
        from recurrente.train.checkpoint import load_task_model
        return load_task_model(cls, directory, resolve_device(device), implementation)

    def describe(self) -> str:
        """e.g. ``2x128 lstm (auto: native)``: names the kernel in use, so no slow path is silent."""
        from recurrente.layers import describe_layer
        return describe_layer(self.rnn)


@dataclass
class Prepared:
    """A task's data, ready for the trainer.

    ``vocabs``: role -> vocabulary (anything with ``save(path)``), stored as ``vocabs/<role>.json``;
    ``batches``: training batches (``epoch(e, start)``, ``len``, ``carries_state``);
    ``evaluate``: ``model -> {"loss": ..., metric: ...}`` on held-out data, or None;
    ``record``: the ``data`` section of ``config.json``;
    ``fingerprint``: what must be equal for ``--resume`` to continue (the data's digests);
    ``description``: e.g. ``corpus.txt (1,234 train tokens, vocabulary 80)`` for the log;
    ``extra``: whatever the task's ``build`` needs besides (pretrained vectors, ...);
    ``notes``: sentences for the log (columns guessed, texts cut, vectors found);
    ``files``: relative path -> text, written into a new run directory (a translator's held-out
    pairs, so that its ``eval`` never depends on re-reading the data).
    """
    vocabs: Dict[str, Any]
    batches: Any
    evaluate: Optional[Callable]
    record: dict
    fingerprint: Any
    description: str
    extra: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)  # said once in the log (guessed columns, ...)
    files: Dict[str, str] = field(default_factory=dict)  # written into a new run directory


@dataclass(frozen=True)
class TaskSpec:
    """A task as the registry knows it (see the module docstring).

    ``prepare(opts, vocabs=None, stdin=None) -> Prepared``: with ``vocabs`` (a resumed run's),
    encode with them instead of fitting new ones. ``build(opts, prepared) -> Task``.
    ``metrics``: metric -> ``"min"`` or ``"max"`` (what is better), the first being the one
    judged by default. ``positional``: the options field the command's positional argument
    fills (named so in messages); ``flag_names``: the flag of a field whose flag has another
    name (``bidirectional`` is set by ``--unidirectional``); ``guessed``: options the data fills
    when they are not given (a classifier's columns), saved as filled, so a resume that leaves
    them out means the same; ``limits``: options the trained model keeps and obeys when it
    predicts (a classifier's ``max_len``). ``summarize(best: dict, prepared)
    -> dict``: task-specific lines of the summary from the best evaluation. ``package``: the
    task's folder, where :meth:`part` finds its ``cli``, ``serve`` and ``export`` modules.
    """
    name: str
    title: str
    model_class: str
    package: str  # the task's folder as a module path: ``__package__`` of its task.py
    options: type
    prepare: Callable
    build: Callable
    metrics: Dict[str, str]
    positional: str
    summarize: Callable = field(default=lambda best, prepared: {})
    flag_names: Dict[str, str] = field(default_factory=dict)  # field -> its flag, where not --field
    guessed: Tuple[str, ...] = ()  # fields the data fills when not given (saved as filled)
    limits: Tuple[str, ...] = ()  # options the model keeps for prediction (Task.attach)

    def part(self, name: str, required: bool = False):
        """The module ``name`` of the task's folder (``cli``, ``serve``, ``export``, ``model``),
        imported on first use; None for a part the task does not have, unless ``required``."""
        import importlib
        module = f"{self.package}.{name}"
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module or required:
                raise
            return None

    @property
    def default_monitor(self) -> str:
        return next(iter(self.metrics))
