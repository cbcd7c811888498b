// The tagger's panel on the served page (recurrente/serve/page.py inserts it): a sentence with
// its entities marked, a colour per type, and the list of them with their scores.
// build(m, panel): m is the model's entry of GET /v1/models, panel its section.

function build(m, panel) {
  panel.querySelector(".kind").append(" · tags " + m.tags.filter(t => t !== "O")
    .map(t => t.replace(/^[BIES]-/, "")).filter((t, k, a) => a.indexOf(t) === k).join(", "));
  const text = $("input", {type: "text", class: "input", placeholder: "a sentence to tag"});
  const go = $("button", {class: "run", text: "Tag"});
  const out = $("div", {class: "result"});
  const run = () => busy(panel, async () => {
    const sentence = text.value;
    const r = (await post(m.name, "tag", {text: sentence})).results[0];
    const shown = $("div", {class: "tagged"});
    let at = 0;
    for (const e of r.entities) {
      if (e.char_start == null) continue;
      shown.append(sentence.slice(at, e.char_start));
      const h = hue(e.type);
      shown.append($("mark", {class: "ent", "data-type": e.type,
                              style: "background:hsl(" + h + ",80%,85%)",
                              title: e.type + " " + (100 * e.score).toFixed(0) + "%"},
                     sentence.slice(e.char_start, e.char_end),
                     $("span", {class: "type", text: e.type})));
      at = e.char_end;
    }
    shown.append(sentence.slice(at));
    const list = r.entities.length ? r.entities.map(e => e.type + ": " + e.text + " (" +
      (100 * e.score).toFixed(0) + "%)").join(" · ") : "no entities";
    out.replaceChildren(shown, $("div", {class: "entities", text: list}));
    out.dataset.entities = String(r.entities.length);
  });
  go.addEventListener("click", run);
  text.addEventListener("keydown", e => { if (e.key === "Enter") run(); });
  panel.append($("div", {class: "row"}, text), $("div", {class: "row"}, go), out);
}

// A hue (0-359) of its own for each entity type.
function hue(text) {
  let h = 0;
  for (const c of text) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}
