"""A self-contained HTML page that shows what cells and gates do, character by character.

In the spirit of Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent
Networks": the text is printed once per chosen cell, each character on a background coloured by
that cell's value after reading it: blue-white-red for values in (-1, 1) (``H_t``, ``C~_t``,
``H~_t``, and ``C_t`` through ``tanh``, as the output gate sees it), white-green for gates in
(0, 1). Hovering a character shows its value and the model's five most likely next characters.
A first row shows the *surprisal* ``-log2 P(x_t | x_<t)`` of each character: the model always
reads the true text (teacher forcing), and this row shows where it did not expect what came; its
mean over the page is the text's cross-entropy in bits per character.

To find interpretable cells, :func:`rank_cells` correlates every cell with an indicator
``m_t = 1`` if character t lies inside a match of a regular expression (inside quotes, inside
parentheses...) and ranks them by ``|r|``, Pearson's correlation over the page's T steps.

The page has no external resource: CSS and JavaScript are inline, the data is one JSON block
whose ``<``, ``>``, ``&`` and ``/`` are escaped, and every text goes into the page through
``textContent`` or ``html.escape``, so no text can inject markup.
"""

import html
import json
import math
import re
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from recurrente.data.tokenizers import EOS
from recurrente.diagnostics.traces import LABELS, SIGMOID, Trace
from recurrente.errors import UserError


@dataclass
class Row:
    """One rendering of the text: a label and one value per step, with its colour scale."""
    label: str
    values: np.ndarray  # (T,) NaN = no colour
    scale: str = "diverging"  # diverging (blue-white-red, symmetric) | sequential (white-colour)
    lo: float = -1.0
    hi: float = 1.0
    transform: str = ""  # "tanh": colour by tanh(value) but show the value itself
    colour: Sequence[int] = (0, 110, 60)  # end colour of a sequential scale
    anchor: str = ""
    note: str = ""

    def as_json(self) -> dict:
        vals = [None if not math.isfinite(v) else round(float(v), 4) for v in self.values]
        return {"label": self.label, "values": vals, "scale": self.scale, "lo": self.lo,
                "hi": self.hi, "transform": self.transform, "colour": list(self.colour)}


def cell_row(trace: Trace, layer: int, gate: str, cell: int, note: str = "") -> Row:
    """The row of one cell of one quantity (see :data:`recurrente.diagnostics.traces.LABELS`)."""
    values = trace.values(layer, gate)
    if not 0 <= cell < values.shape[1]:
        raise UserError(f"expected cell indices in [0, {values.shape[1] - 1}] (hidden size "
                        f"{values.shape[1]}), got {cell}")
    column = values[:, cell]  # (T,)
    label = f"layer {layer}, cell {cell}: {LABELS[gate]}"
    if gate in SIGMOID:
        return Row(label, column, "sequential", 0.0, 1.0, anchor=f"cell-{cell}", note=note)
    if gate == "h" and trace.cell == "rnn" and values.min() >= 0:  # ReLU Elman: [0, inf)
        return Row(label, column, "sequential", 0.0, float(max(column.max(), 1e-6)),
                   colour=(150, 40, 40), anchor=f"cell-{cell}", note=note)
    transform = "tanh" if gate == "c" else ""
    return Row(label + (" (colour: tanh C_t)" if transform else ""), column, transform=transform,
               anchor=f"cell-{cell}", note=note)


def surprisal_row(trace: Trace, unit: str = "token", hi: float = 8.0) -> Row:
    """``-log2 P(x_t | x_<t)`` per character, white (expected) to orange (surprising)."""
    with np.errstate(divide="ignore"):
        bits = -np.log2(trace.token_prob)  # (T,), NaN at t = 0
    finite = bits[np.isfinite(bits)]
    note = (f"mean {finite.mean():.3f} bits per {unit} (perplexity {2 ** finite.mean():.2f})"
            if len(finite) else "")
    return Row("surprisal −log₂ P(x_t | x_<t), bits", bits, "sequential", 0.0, hi,
               colour=(230, 110, 0), anchor="surprisal", note=note)


def separator(kind: str) -> str:
    """What goes between symbols when the text is put back together: nothing for characters."""
    return "" if kind == "char" else " "


def regex_indicator(tokens: List[str], pattern: str, sep: str = "") -> np.ndarray:
    """``(T,)`` bool: token t overlaps a match of ``pattern`` in the joined text."""
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise UserError(f"--find {pattern!r} is not a valid regular expression ({e})") from None
    starts, pos = [], 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + len(sep)
    text = sep.join(tokens)
    events = np.zeros(len(text) + 1, dtype=np.int64)  # +1 where a match starts, -1 where it ends
    for m in regex.finditer(text):
        if m.end() > m.start():
            events[m.start()] += 1
            events[m.end()] -= 1
    char_inside = np.cumsum(events[:-1]) > 0  # (len(text),)
    covered = np.concatenate([[0], np.cumsum(char_inside)])  # covered[p] = inside chars before p
    ends = [s + len(t) for s, t in zip(starts, tokens)]
    return np.array([covered[e] - covered[s] > 0 for s, e in zip(starts, ends)], dtype=bool)


@dataclass
class CellScore:
    cell: int
    r: float  # Pearson correlation with the indicator
    mean_inside: float
    mean_outside: float


def rank_cells(values: np.ndarray, indicator: np.ndarray, top: int = 5) -> List[CellScore]:
    """The ``top`` cells of ``values (T, H)`` by |Pearson r| with ``indicator (T,)``."""
    m = indicator.astype(np.float64)
    if m.min() == m.max():
        where = "every" if m.min() else "no"
        raise UserError(f"the pattern covers {where} character of the text, so nothing can "
                        f"correlate with it; expected a pattern that matches part of the text")
    a = values.astype(np.float64)  # (T, H)
    da, dm = a - a.mean(axis=0), m - m.mean()
    denominator = np.sqrt((da ** 2).sum(axis=0) * (dm ** 2).sum())  # (H,)
    r = np.divide(da.T @ dm, denominator, out=np.zeros(a.shape[1]), where=denominator > 0)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    inside = indicator.astype(bool)
    return [CellScore(int(c), float(r[c]), float(a[inside, c].mean()),
                      float(a[~inside, c].mean())) for c in order]


def _script_json(data) -> str:
    """JSON that is safe inside ``<script type="application/json">`` and holds no URL-looking
    text: ``< > & /`` and the line separators are escaped (JSON.parse undoes it)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("/", "\\/"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def ranking_table(scores: List[CellScore], pattern: str, label: str) -> str:
    """HTML table of :func:`rank_cells`, linking to the rendered rows."""
    rows = "".join(
        f'<tr><td>{k + 1}</td><td><a href="#cell-{s.cell}">{s.cell}</a></td>'
        f"<td>{s.r:+.3f}</td><td>{s.mean_inside:+.3f}</td><td>{s.mean_outside:+.3f}</td></tr>"
        for k, s in enumerate(scores))
    return (f"<h2>Cells that track <code>{html.escape(pattern)}</code></h2>"
            f"<p>Pearson correlation r between {html.escape(label)} and 1 inside a match, "
            f"0 outside.</p><table><tr><th>rank</th><th>cell</th><th>r</th>"
            f"<th>mean inside</th><th>mean outside</th></tr>{rows}</table>")


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}h3{font-size:1em;margin:1.4em 0 .3em}
.facts{color:#555}.note{color:#555;font-weight:normal;margin-left:.6em}
.text{font:13px/1.6 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;
 word-break:break-all;border:1px solid #ddd;padding:.6em;border-radius:4px;background:#fafafa}
.tok{border-radius:2px}.tok:hover{outline:1px solid #000}
.bar{display:inline-block;width:9em;height:.8em;vertical-align:middle;border:1px solid #ccc;
 margin:0 .4em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #eee;
 text-align:right}
"""

JS = """
(function () {
  var D = JSON.parse(document.getElementById('trace-data').textContent);
  var WHITE = [255, 255, 255], RED = [200, 30, 40], BLUE = [30, 90, 190];
  function shown(s) {
    return s === '\\n' ? '\\\\n' : s === ' ' ? '\\u2423' : s === '\\t' ? '\\\\t' : s;
  }
  function mix(a, b, t) {
    return a.map(function (x, i) { return Math.round(x + (b[i] - x) * t); });
  }
  function colour(v, row) {
    if (v === null) return null;
    if (row.transform === 'tanh') v = Math.tanh(v);
    var t;
    if (row.scale === 'diverging') {
      t = Math.max(-1, Math.min(1, v / row.hi));
      return [t >= 0 ? mix(WHITE, RED, t) : mix(WHITE, BLUE, -t), Math.abs(t)];
    }
    t = Math.max(0, Math.min(1, (v - row.lo) / (row.hi - row.lo)));
    return [mix(WHITE, row.colour, t), t];
  }
  function tip(t, row) {
    var v = row.values[t], s = '\\u201c' + shown(D.tokens[t]) + '\\u201d  step ' + t + '\\n';
    s += row.label + ' = ' + (v === null ? 'n/a' : v.toFixed(3)) + '\\nnext:';
    D.top[t].forEach(function (p) {
      s += '  ' + shown(p[0]) + ' ' + (100 * p[1]).toFixed(1) + '%';
    });
    return s;
  }
  D.rows.forEach(function (row, k) {
    var box = document.getElementById('row-' + k), frag = document.createDocumentFragment();
    D.tokens.forEach(function (tok, t) {
      var span = document.createElement('span'), c = colour(row.values[t], row);
      span.className = 'tok';
      span.textContent = tok === '\\n' ? '\\u21b5\\n' : tok;
      if (c) {
        span.style.backgroundColor = 'rgb(' + c[0].join(',') + ')';
        if (c[1] > 0.65) span.style.color = '#fff';
      }
      span.title = tip(t, row);
      frag.appendChild(span);
      if (D.sep && tok !== '\\n' && t + 1 < D.tokens.length) {
        frag.appendChild(document.createTextNode(D.sep));
      }
    });
    box.appendChild(frag);
  });
  document.body.setAttribute('data-rendered-rows', String(D.rows.length));
})();
"""


def _legend(row: Row) -> str:
    if row.scale == "diverging":
        gradient, lo, hi = "rgb(30,90,190),#fff,rgb(200,30,40)", -row.hi, row.hi
    else:
        gradient, lo, hi = f"#fff,rgb({','.join(map(str, row.colour))})", row.lo, row.hi
    return (f'<span class="note">{lo:g}<span class="bar" style="background:linear-gradient('
            f'to right,{gradient})"></span>{hi:g}</span>')


def render_html(trace: Trace, rows: List[Row], itos: List[str], title: str, facts: List[str],
                kind: str = "char", extra_html: str = "") -> str:
    """The whole page: ``facts`` (plain strings, escaped) under the title, ``extra_html``
    (trusted, already escaped) before the rows, then one block per row. ``itos`` names the
    model's next-token predictions (the tokenizer's vocabulary)."""
    name = [("\n" if s == EOS else s) for s in itos]
    data = {"tokens": trace.tokens, "sep": separator(kind),
            "top": [[[name[i], round(float(p), 4)] for i, p in zip(ids, probs)]
                    for ids, probs in zip(trace.top_ids.tolist(), trace.top_probs.tolist())],
            "rows": [r.as_json() for r in rows]}
    blocks = "".join(
        f'<h3 id="{html.escape(r.anchor or f"row-{k}")}">{html.escape(r.label)}'
        f'{_legend(r)}<span class="note">{html.escape(r.note)}</span></h3>'
        f'<div class="text" id="row-{k}"></div>' for k, r in enumerate(rows))
    facts_html = "".join(f"<li>{html.escape(f)}</li>" for f in facts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><ul class=\"facts\">{facts_html}</ul>"
            f"<noscript><p>This page draws the text with JavaScript; enable it to see the "
            f"activations.</p></noscript>{extra_html}<h2>The text, once per row</h2>"
            f"<p class=\"facts\">Hover a character for its value and the model's five most "
            f"likely next symbols.</p>{blocks}"
            f'<script type="application/json" id="trace-data">{_script_json(data)}</script>'
            f"<script>{JS}</script></body></html>\n")
