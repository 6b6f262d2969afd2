// The plant editor: the running plant's YAML in CodeMirror, checked by the server as you
// type (markers on the lines the server names, the same `file:line: field.path: message` the
// CLI prints), and a valid text is drawn beside it: a live 3D preview of the edited layout.
// Nothing is saved from here yet.
import { Color } from "three";
import { getJSON, postJSON } from "./live.js";
import { Scene3D } from "./scene3d.js";
import { $ } from "./state.js";
import { EQUIPMENT_COLOR } from "./states.js";

/** @param {import("./state.js").Viewer} _viewer */
export function startEditor(_viewer) {
  const box = $("editor");
  /** What the editor shows (read by the test hook). */
  const state = { open: false, file: null, valid: null, problems: [], summary: null, roundTrips: [], error: null, view: null,
                  preview: null };  // prettier-ignore

  function frame(/** @type {number} */ now) {
    if (!state.open) return;
    state.preview?.render(now);
    requestAnimationFrame(frame);
  }

  async function open() {
    box.hidden = false;
    state.open = true;
    requestAnimationFrame(frame);
    if (state.view) return;
    try {
      const [src, cm] = await Promise.all([getJSON("/api/plant/source"), import("./editor-cm.js")]);
      state.file = src.file;
      $("editor-file").textContent = src.file;
      state.view = cm.createEditor($("editor-cm"), {
        text: src.text,
        vocabulary: src.vocabulary,
        validate: (text) => postJSON("/api/plant/validate", { text, file: src.file, preview: true }),
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
    if (result.scene) showPreview(result.scene);
    const ul = $("editor-problems");
    ul.textContent = "";
    for (const p of result.problems) {
      const li = document.createElement("li");
      const where = [p.file && p.line ? `${p.file}:${p.line}` : p.file, p.path].filter(Boolean).join(": ");
      li.textContent = where ? `${where}: ${p.message}` : p.message;
      ul.appendChild(li);
    }
  }

  /** Draw a valid text's layout (the last valid one stays while the text is broken). */
  function showPreview(scene) {
    state.preview?.dispose();
    const view = new Scene3D($("editor-preview"), scene, { instanced: true });
    const grey = new Color(EQUIPMENT_COLOR);
    for (let i = 0; i < scene.objects.count; i++) view.setColor(i, grey);
    view.fit();
    state.preview = view;
  }

  $("editor-open").onclick = open;
  $("editor-close").onclick = () => {
    box.hidden = true;
    state.open = false;
  };
  return state;
}
