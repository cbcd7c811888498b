"""``recurrente export RUN --format onnx --out DIR``: graphs, vocabularies, a manifest, checked.

A task is exported by its folder's ``export`` part (``recurrente/tasks/<t>/export.py``), which
gives ``graphs(run) -> [Graph]`` (:class:`recurrente.export.graphs.Graph`: the modules to trace,
their inputs and outputs, and the torch computation each must agree with) and
``facts(run, folder) -> dict``: the manifest's task entries (specials, labels, ...), writing any
file they name into ``folder``. A task without an export part is refused in one sentence.

Writes into DIR: one ``<graph>.onnx`` per graph, ``vocabs/<role>.json`` (the run's
vocabularies), the files the task's facts name, and ``manifest.json``: the task, each graph's
inputs and outputs with their shapes, the task's facts and the parity check's numbers: enough to
use the graphs with onnxruntime alone.

The export checks itself: every graph runs in onnxruntime and in PyTorch (the trained model) on
random inputs of several lengths and batch sizes; the largest absolute difference is printed, and
above ``1e-4`` the export fails and its files are removed. onnx and onnxruntime are an optional
extra (``pip install 'recurrente[export]'``).
"""

import io
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from recurrente.errors import UserError
from recurrente.io import atomic_write_json

TOLERANCE = 1e-4
SHAPES = ((1, 1), (5, 3), (17, 2), (40, 8))  # (T, B) of the parity check


def _onnxruntime():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ModuleNotFoundError:
        raise UserError("export needs onnx and onnxruntime; install them with "
                        "pip install 'recurrente[export]'") from None
    return onnxruntime


def to_onnx(graph, path: Path, opset: int = 17) -> None:
    """Trace ``graph.module`` into ``path`` with dynamic axes (torch's TorchScript exporter,
    which maps torch.nn's recurrent layers onto ONNX's own operators)."""
    with torch.no_grad():
        example = graph.example(4, 2, np.random.default_rng(0))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph.module.eval(), example, buffer, input_names=graph.inputs,
                          output_names=graph.outputs, dynamic_axes=graph.axes,
                          opset_version=opset, dynamo=False)
    path.write_bytes(buffer.getvalue())


def parity(graph, path: Path, ort) -> float:
    """The largest absolute difference between onnxruntime and PyTorch over :data:`SHAPES`."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng, worst = np.random.default_rng(1), 0.0
    for T, B in SHAPES:
        with torch.no_grad():
            inputs = graph.example(T, B, rng)
            expected = graph.reference(*inputs)
        wanted = {i.name for i in session.get_inputs()}  # an unused input is pruned
        got = session.run(None, {n: t.numpy() for n, t in zip(graph.inputs, inputs)
                                 if n in wanted})
        for a, b in zip(got, expected):
            worst = max(worst, float(np.abs(a - b.double().numpy()).max()) if a.size else 0.0)
    return worst


EXPORTABLE_CELLS = ("lstm", "gru", "rnn", "mingru", "minlstm")  # recurrente.export.graphs


def _check_cell(run_dir):
    """The run's cell (None where its config does not say); a cell the graphs cannot rebuild
    (any not in :data:`EXPORTABLE_CELLS`: torch.nn's three and, through
    :mod:`recurrente.export.min_graphs`, minGRU/minLSTM) is refused in one sentence."""
    import json
    try:
        model = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))["model"]
        cell = model.get("cell")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # load_run says what is wrong with the folder
    if isinstance(cell, str) and cell not in EXPORTABLE_CELLS:
        raise UserError(f"{run_dir} is a {cell} model; ONNX export is for "
                        f"{', '.join(EXPORTABLE_CELLS[:-1])} and {EXPORTABLE_CELLS[-1]} models "
                        f"so far")
    return cell


def export_run(run_dir, out, opset: int = 17, log=print) -> dict:
    """Export the run in ``run_dir`` into folder ``out``; returns the manifest."""
    from recurrente.train.run import load_run
    from recurrente.export import OPSETS
    if isinstance(opset, bool) or not isinstance(opset, int) or \
            not OPSETS[0] <= opset <= OPSETS[1]:
        raise UserError(f"expected --opset an integer from {OPSETS[0]} to {OPSETS[1]}, got "
                        f"{opset!r}")
    ort = _onnxruntime()
    cell = _check_cell(run_dir)
    # the reference: torch.nn's kernels, or a minGRU/minLSTM's own implementation (none native)
    run = load_run(run_dir, device="cpu",
                   implementation=None if cell in ("mingru", "minlstm") else "native")
    part = _export_part(run.spec)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; export into a new folder")
    staging = Path(tempfile.mkdtemp(prefix=".export.", dir=out.parent if out.parent.exists()
                                    else None))
    try:
        manifest = _write(run, part, staging, opset, ort, log)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        shutil.move(str(staging), out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _export_part(spec):
    """The task's ``export`` module, or a refusal naming the tasks that have one."""
    part = spec.part("export")
    if part is not None:
        return part
    from recurrente.tasks import registry
    able = [n for n in registry.names() if registry.task(n).part("export") is not None]
    raise UserError(f"a {spec.title} run cannot be exported (its task has no export part); "
                    f"the tasks that can be exported are {', '.join(able) or 'none'}")


def _write(run, part, folder: Path, opset: int, ort, log) -> dict:
    manifest = {"format": "recurrente-onnx", "version": 1, "task": run.spec.name,
                "model": run.config["model"], "opset": opset, "graphs": {}}
    for graph in part.graphs(run):
        path = folder / f"{graph.name}.onnx"
        to_onnx(graph, path, opset)
        diff = parity(graph, path, ort)
        log(f"{graph.name}.onnx: onnxruntime vs PyTorch, max abs difference {diff:.2e} over "
            f"(T, B) in {list(SHAPES)}")
        if not diff <= TOLERANCE:
            raise UserError(f"the exported {graph.name} graph differs from the model by {diff:.2e}"
                            f" (more than {TOLERANCE}); nothing was written")
        manifest["graphs"][graph.name] = {"file": path.name, "max_abs_diff": diff,
                                          **_signature(path)}
    for role, vocab in run.vocabs.items():
        vocab.save(folder / "vocabs" / f"{role}.json")
    if hasattr(part, "facts"):
        manifest.update(part.facts(run, folder))
    atomic_write_json(folder / "manifest.json", manifest)
    return manifest


def _signature(path: Path) -> dict:
    """Inputs and outputs of an ONNX file: name, element type and shape (axis names for
    dynamic axes)."""
    import onnx
    model = onnx.load(str(path))

    def describe(values):
        return [{"name": v.name, "type": onnx.TensorProto.DataType.Name(
                     v.type.tensor_type.elem_type).lower(),
                 "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]}
                for v in values]
    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}
