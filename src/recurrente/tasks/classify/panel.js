// The classifier's panel on the served page (recurrente/serve/page.py inserts it): a sentence
// and a bar per class, most likely first.
// build(m, panel): m is the model's entry of GET /v1/models, panel its section.

function build(m, panel) {
  panel.querySelector(".kind").append(" · " + m.labels.length + " classes");
  const text = $("input", {type: "text", class: "input", placeholder: "a sentence to classify"});
  const go = $("button", {class: "run", text: "Classify"});
  const out = $("div", {class: "result bars"});
  const run = () => busy(panel, async () => {
    const r = (await post(m.name, "classify", {text: text.value})).results[0];
    out.replaceChildren(...r.top.map((t, i) => $("div", {class: "bar" + (i ? "" : " top")},
      $("span", {class: "label", text: t.label, title: t.label}),
      $("span", {class: "track"}, $("span", {class: "fill", style: "display:block;width:" +
        (100 * t.probability).toFixed(1) + "%"})),
      $("span", {class: "p", text: (100 * t.probability).toFixed(1) + "%"}))));
    out.dataset.label = r.label;
  });
  go.addEventListener("click", run);
  text.addEventListener("keydown", e => { if (e.key === "Enter") run(); });
  panel.append($("div", {class: "row"}, text), $("div", {class: "row"}, go), out);
}
