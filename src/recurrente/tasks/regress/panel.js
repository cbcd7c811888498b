// The regressor's panel on the served page (recurrente/serve/page.py inserts it): a sentence
// and the number the model gives it.
// build(m, panel): m is the model's entry of GET /v1/models, panel its section.

function build(m, panel) {
  if (m.target && m.target.column) panel.querySelector(".kind").append(" · " + m.target.column);
  const text = $("input", {type: "text", class: "input",
                           placeholder: "a sentence to put a number on"});
  const go = $("button", {class: "run", text: "Estimate"});
  const out = $("div", {class: "result estimate"});
  const run = () => busy(panel, async () => {
    const r = (await post(m.name, "regress", {text: text.value})).results[0];
    out.replaceChildren($("span", {class: "value", text: r.value.toPrecision(4)}));
    out.dataset.value = String(r.value);
  });
  go.addEventListener("click", run);
  text.addEventListener("keydown", e => { if (e.key === "Enter") run(); });
  panel.append($("div", {class: "row"}, text), $("div", {class: "row"}, go), out);
}
