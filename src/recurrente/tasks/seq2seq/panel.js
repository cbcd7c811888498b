// The translator's panel on the served page (recurrente/serve/page.py inserts it): a sentence,
// the beam size, the translation, and (a model that attends) the attention as a heat map.
// build(m, panel): m is the model's entry of GET /v1/models, panel its section.

function build(m, panel) {
  const text = $("input", {type: "text", class: "input", placeholder: "a sentence to translate"});
  const beam = $("input", {type: "number", min: "1", max: String(limits.max_beam || 16),
                           value: "4", class: "beam"});
  const go = $("button", {class: "run", text: "Translate"});
  const out = $("div", {class: "result"});
  const run = () => busy(panel, async () => {
    const r = (await post(m.name, "translate", {text: text.value, beam: Number(beam.value),
                                                attention: !!m.attention})).results[0];
    out.replaceChildren($("div", {class: "translation", text: r.translation}));
    if (r.attention && r.attention.length) out.append(heatmap(r));
  });
  go.addEventListener("click", run);
  text.addEventListener("keydown", e => { if (e.key === "Enter") run(); });
  panel.append($("div", {class: "row"}, text),
               $("div", {class: "row"}, $("label", {}, "beam", beam), go), out);
  if (!m.attention) panel.append($("div", {class: "note", text: "this model has no attention " +
                                                                  "weights to draw"}));
}

// The attention weights as a table: a row per output token, a column per source token.
function heatmap(r) {
  const head = $("tr", {}, $("th"));
  for (const s of r.source_tokens) head.append($("th", {text: s}));
  const body = $("tbody");
  r.attention.forEach((row, i) => {
    const tr = $("tr", {}, $("th", {text: r.output_tokens[i] || ""}));
    row.forEach((w, j) => tr.append($("td", {title: r.output_tokens[i] + " ← " +
      r.source_tokens[j] + ": " + w.toFixed(3), style: "background:rgba(47,111,222," +
      Math.max(0, Math.min(1, w)).toFixed(3) + ")"})));
    body.append(tr);
  });
  return $("table", {class: "heat"}, $("thead", {}, head), body);
}
