"""What ``recurrente inspect`` and ``recurrente diagnose`` do, as library functions.

:func:`inspect_page` writes the HTML view of one layer's cells or gates on a text;
:func:`diagnose_run` writes the plots and numbers of a run (spectral radii, gradient clipping,
learning curves, gate saturation) and returns them as one JSON-able dict.
"""

import json
from pathlib import Path
from typing import List, Optional, Sequence

from recurrente.diagnostics import clipping, curves, gates, html, spectral, traces
from recurrente.errors import UserError
from recurrente.io import atomic_write_text


def parse_cells(spec: str) -> List[int]:
    """``"3,17"`` -> ``[3, 17]``; a clear error for anything else."""
    try:
        cells = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"expected --cells as comma-separated integers like 3,17, "
                        f"got {spec!r}") from None
    if not cells:
        raise UserError(f"expected at least one cell index in --cells, got {spec!r}")
    return list(dict.fromkeys(cells))  # each cell once, in the order given


def _check_choice(model, layer: Optional[int], gate: str, cells: Optional[Sequence[int]]) -> int:
    """Validate layer, gate and cells against the model before any work; return the layer."""
    L, H = model.rnn.num_layers, model.rnn.hidden_size
    layer = L - 1 if layer is None else layer
    if not 0 <= layer < L:
        raise UserError(f"expected --layer in [0, {L - 1}] for this {L}-layer model, got {layer}")
    if gate not in traces.QUANTITIES[model.cell]:
        raise UserError(f"the {model.cell.upper()} has no gate {gate!r}; expected one of "
                        f"{', '.join(traces.QUANTITIES[model.cell])}")
    bad = [c for c in cells or [] if not 0 <= c < H]
    if bad:
        raise UserError(f"expected cell indices in [0, {H - 1}] (hidden size {H}), got {bad[0]}")
    return layer


def inspect_page(run_dir, text_path, out_html, cells: Optional[Sequence[int]] = None,
                 find: Optional[str] = None, layer: Optional[int] = None, gate: str = "h",
                 max_chars: Optional[int] = 3000, top: int = 5, encoding: str = "utf-8") -> dict:
    """Write the HTML view of ``run_dir``'s model on the text of ``text_path``; return a summary.

    ``cells`` picks the cells to show; ``find`` (a regex) ranks them by |r| with "inside a
    match" and shows the ``top`` best; with neither, the first ``top`` cells. ``layer`` defaults
    to the last one.
    """
    if cells is not None and find is not None:
        raise UserError("expected either --cells or --find, not both")
    if top < 1:
        raise UserError(f"expected --top >= 1, got {top}")
    model, tokenizer, _ = traces.load_run_model(run_dir)
    layer = _check_choice(model, layer, gate, cells)
    text = traces.read_text(text_path, max_chars, encoding)
    if find is not None:
        html.regex_indicator([], find)  # a bad pattern fails before the model runs
    trace = traces.trace_text(model, tokenizer, text)
    cells, ranking, extra = _choose_cells(trace, tokenizer.kind, layer, gate, cells, find, top)
    notes = {s.cell: f"r = {s.r:+.3f}" for s in ranking or []}
    rows = [html.surprisal_row(trace, tokenizer.kind)]
    rows += [html.cell_row(trace, layer, gate, c, notes.get(c, "")) for c in cells]
    unknown = tokenizer.count_unknown(text)
    facts = [f"model: {model.describe()} from {run_dir}",
             f"text: {text_path}, {trace.steps} {tokenizer.kind}s"
             + (f" ({unknown} not in the vocabulary, read as <unk>)" if unknown else ""),
             f"showing {traces.LABELS[gate]} of layer {layer}; {rows[0].note}"]
    title = f"recurrente inspect: {Path(run_dir).name}"
    page = html.render_html(trace, rows, tokenizer.itos, title, facts, tokenizer.kind, extra)
    out_html = Path(out_html)
    atomic_write_text(out_html, page)
    return {"html": str(out_html), "tokens": trace.steps, "unknown": unknown, "layer": layer,
            "gate": gate, "cells": cells, "note": rows[0].note,
            "ranking": [vars(s) for s in ranking] if ranking else None}


def _choose_cells(trace, kind: str, layer: int, gate: str, cells, find: Optional[str], top: int):
    """``(cells, ranking or None, ranking table HTML)``: by ``find``, as given, or the first."""
    values = trace.values(layer, gate)  # (T, H)
    if find is None:
        chosen = list(cells) if cells is not None else list(range(min(top, values.shape[1])))
        return chosen, None, ""
    indicator = html.regex_indicator(trace.tokens, find, html.separator(kind))
    ranking = html.rank_cells(values, indicator, top)
    table = html.ranking_table(ranking, find, f"{traces.LABELS[gate]} of layer {layer}")
    return [s.cell for s in ranking], ranking, table


def diagnose_run(run_dir, out_dir=None, text_path=None, max_chars: Optional[int] = 20000,
                 compare: Sequence = (), encoding: str = "utf-8") -> dict:
    """Spectral radii, clipping, learning curves and (with a text) gate saturation of a run;
    PNGs and ``diagnostics.json`` go to ``out_dir`` (default ``run_dir/diagnostics``)."""
    run_dir = Path(run_dir)
    model, tokenizer, _ = traces.load_run_model(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "diagnostics"
    name = run_dir.name
    result = {"run": str(run_dir), "model": model.describe(), "unit": tokenizer.kind,
              "files": [], "notes": [],
              "spectral": [r.as_dict() for r in spectral.spectral_radii(model.rnn)],
              "clipping": None, "curves": None, "gates": None}
    has_metrics = (run_dir / clipping.METRICS).is_file()
    if has_metrics:
        _clipping_and_curves(run_dir, out, result, compare)
    else:
        result["notes"].append(f"no {clipping.METRICS} in {run_dir}: clipping and curves skipped")
    if text_path is not None and model.cell in gates.GATES:
        trace = traces.trace_text(model, tokenizer, traces.read_text(text_path, max_chars,
                                                                     encoding))
        stats = gates.gate_statistics(trace)
        result["gates"] = {"text": str(text_path), "tokens": trace.steps,
                           "table": [s.as_dict() for s in stats]}
        title = f"{name}: {model.describe()} on {Path(text_path).name} ({trace.steps} steps)"
        result["files"].append(str(gates.plot_gate_histograms(stats, out / "gates.png", title)))
        result["files"].append(str(gates.plot_saturation(stats, out / "gate-saturation.png",
                                                         title)))
    elif text_path is not None:
        result["notes"].append("the Elman RNN has no gates: gate statistics skipped")
    atomic_write_text(out / "diagnostics.json", json.dumps(result, indent=1) + "\n")
    result["files"].append(str(out / "diagnostics.json"))
    return result


def _clipping_and_curves(run_dir: Path, out: Path, result: dict, compare) -> None:
    report = clipping.clipping_report(run_dir)
    result["clipping"] = report.as_dict()
    if len(report.norms):
        result["files"].append(str(clipping.plot_clipping(
            report, out / "clipping.png", f"{run_dir.name}: gradient norm before clipping")))
    runs = {run_dir.name: curves.learning_curves(run_dir)}
    for other in compare:
        other = Path(other)
        if not (other / clipping.METRICS).is_file():
            raise UserError(f"--compare {other}: no {clipping.METRICS} there; expected a run "
                            f"directory")
        runs[other.name if other.name not in runs else str(other)] = curves.learning_curves(other)
    result["curves"] = {label: curves.best_valid(c) for label, c in runs.items()}
    if any(c["train"] or c["valid"] for c in runs.values()):
        result["files"].append(str(curves.plot_curves(runs, out / "curves.png",
                                                      "learning curves", result["unit"])))
