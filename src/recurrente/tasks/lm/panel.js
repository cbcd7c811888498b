// The language model's panel on the served page (recurrente/serve/page.py inserts it): a
// prompt, sampling controls, the text as it streams in, and the prompt's perplexity.
// build(m, panel): m is the model's entry of GET /v1/models, panel its section.

function build(m, panel) {
  const prime = $("textarea", {class: "input", placeholder: "a prompt (empty: start afresh)"});
  const temp = $("input", {type: "range", min: "0", max: "2", step: "0.05", value: "0.8",
                           class: "temperature"});
  const tempShown = $("span", {text: "0.80"});
  temp.addEventListener("input", () => tempShown.textContent = Number(temp.value).toFixed(2));
  const length = $("input", {type: "number", min: "1", max: String(limits.max_tokens || 2000),
                             value: "200", class: "length"});
  const seed = $("input", {type: "number", min: "0", placeholder: "random", class: "seed"});
  const out = $("pre", {class: "stream result"});
  const go = $("button", {class: "run", text: "Generate"});
  const stop = $("button", {class: "secondary", text: "Stop"});
  const score = $("button", {class: "run secondary", text: "Perplexity of the prompt"});
  let controller = null;
  stop.disabled = true;
  go.addEventListener("click", () => busy(panel, async () => {
    controller = new AbortController();
    stop.disabled = false;
    out.textContent = "";
    if (m.direction === "forward" && prime.value) out.append($("b", {text: prime.value}));
    const written = document.createTextNode("");
    out.append(written);
    const body = {prime: prime.value || null, length: Number(length.value),
                  temperature: Number(temp.value)};
    if (seed.value !== "") body.seed = Number(seed.value);
    try {
      return await stream(m.name, body, controller.signal, (event, data) => {
        if (event === "text") { written.appendData(data.text); out.scrollTop = out.scrollHeight; }
        if (event === "done" && m.direction !== "forward") out.textContent = data.full_text;
        if (event === "error") throw new Error(data.error);
        if (event === "done") return data.tokens + " tokens in " + data.seconds.toFixed(2) +
                                     " s (" + data.tokens_per_s + " tokens/s)";
      });
    } finally { stop.disabled = true; controller = null; }
  }));
  stop.addEventListener("click", () => controller && controller.abort());
  score.addEventListener("click", () => busy(panel, async () => {
    const r = await post(m.name, "score", {text: prime.value});
    return "perplexity " + r.perplexity.toFixed(3) + " over " + r.tokens + " tokens" +
           (r.bits_per_char != null ? " (" + r.bits_per_char.toFixed(3) + " bits/char)" : "");
  }));
  panel.append(prime,
    $("div", {class: "row"}, $("label", {}, "temperature", temp, tempShown),
      $("label", {}, "length", length), $("label", {}, "seed", seed)),
    $("div", {class: "row"}, go, stop, score), out);
}

// The generate endpoint's server-sent events, each handed to onEvent(event, data); what
// onEvent returns last is the status line ("stopped" when the user stops it).
async function stream(name, body, signal, onEvent) {
  const res = await fetch(endpoint(name, "generate"), {method: "POST", headers: headers(),
                                                        body: JSON.stringify(body), signal});
  if (!res.ok) {
    let data = {};
    try { data = await res.json(); } catch (e) { }
    throw new Error(data.error || ("the server answered " + res.status));
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", note = null;
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        const r = onEvent(event, JSON.parse(data));
        if (r) note = r;
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return "stopped";
    throw e;
  }
  return note;
}
