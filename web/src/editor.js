// The plant editor: the running plant's YAML in CodeMirror, checked by the server as you
// type (markers on the lines the server names, the same `file:line: field.path: message` the
// CLI prints). Nothing is saved from here yet: a valid text is reported valid.
import { getJSON, postJSON } from "./live.js";
import { $ } from "./state.js";

/** @param {import("./state.js").Viewer} _viewer */
export function startEditor(_viewer) {
  const box = $("editor");
  /** What the editor shows (read by the test hook). */
  const state = { open: false, file: null, valid: null, problems: [], summary: null, roundTrips: [], error: null, view: null };

  async function open() {
    box.hidden = false;
    state.open = true;
    if (state.view) return;
    try {
      const [src, cm] = await Promise.all([getJSON("/api/plant/source"), import("./editor-cm.js")]);
      state.file = src.file;
      $("editor-file").textContent = src.file;
      state.view = cm.createEditor($("editor-cm"), {
        text: src.text,
        vocabulary: src.vocabulary,
        validate: (text) => postJSON("/api/plant/validate", { text, file: src.file }),
        onResult: show,
      });
    } catch (err) {
      state.error = err.message;
      $("editor-status").textContent = err.message;
    }
  }

  function show(result, ms) {
    state.valid = result.valid;
    state.problems = result.problems;
    state.summary = result.summary;
    state.roundTrips.push(ms);
    const st = $("editor-status");
    st.className = result.valid ? "valid" : "invalid";
    st.textContent = result.valid
      ? `valid · ${result.summary.twins} twins, ${result.summary.signals} signals`
      : `${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`;
    const ul = $("editor-problems");
    ul.textContent = "";
    for (const p of result.problems) {
      const li = document.createElement("li");
      const where = [p.file && p.line ? `${p.file}:${p.line}` : p.file, p.path].filter(Boolean).join(": ");
      li.textContent = where ? `${where}: ${p.message}` : p.message;
      ul.appendChild(li);
    }
  }

  $("editor-open").onclick = open;
  $("editor-close").onclick = () => {
    box.hidden = true;
    state.open = false;
  };
  return state;
}
