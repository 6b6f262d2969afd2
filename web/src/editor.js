// The plant editor: the running plant's YAML in CodeMirror, checked by the server as you
// type (markers on the lines the server names, the same `file:line: field.path: message` the
// CLI prints), and a valid text is drawn beside it: a live 3D preview of the edited layout.
// "Save version" stores the text as a new model version (engineers; POST /api/plant/versions)
// and the running twin switches to it; a refused text keeps the running model and lists its
// located errors. "Diff" shows what a version changed against the one before.
import { Color } from "three";
import { getJSON, postJSON } from "./live.js";
import { Scene3D } from "./scene3d.js";
import { $ } from "./state.js";
import { EQUIPMENT_COLOR } from "./states.js";

/** @param {import("./state.js").Viewer} viewer */
export function startEditor(viewer) {
  const box = $("editor");
  /** What the editor shows (read by the test hook). */
  const state = { open: false, file: null, valid: null, problems: [], summary: null, roundTrips: [], error: null, view: null,
                  preview: null, saved: null, saveError: null, diff: null };  // prettier-ignore

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
    listProblems(result.problems);
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

  function listProblems(problems) {
    const ul = $("editor-problems");
    ul.textContent = "";
    for (const p of problems) {
      const li = document.createElement("li");
      const where = [p.file && p.line ? `${p.file}:${p.line}` : p.file, p.path].filter(Boolean).join(": ");
      li.textContent = where ? `${where}: ${p.message}` : p.message;
      ul.appendChild(li);
    }
  }

  async function loadVersions(select = null) {
    const list = await getJSON("/api/plant/versions");
    const sel = /** @type {HTMLSelectElement} */ ($("editor-versions"));
    sel.textContent = "";
    for (const v of list.versions.slice().reverse()) {
      const o = document.createElement("option");
      o.value = String(v.number);
      o.textContent = `v${v.number} · ${v.author} · ${v.created.slice(0, 16).replace("T", " ")}${v.message ? ` · ${v.message}` : ""}`;
      sel.appendChild(o);
    }
    if (select !== null) sel.value = String(select);
    $("editor-diff").toggleAttribute("disabled", list.versions.length < 2);
    return list;
  }

  async function showDiff(number) {
    const pre = $("editor-diff-text");
    if (!number || number < 2) {
      pre.hidden = true;
      return;
    }
    const d = await getJSON(`/api/plant/versions/${number}/diff`);
    state.diff = d.diff;
    pre.textContent = d.diff || "(no change)";
    pre.hidden = false;
  }

  async function save(/** @type {Event} */ ev) {
    ev.preventDefault();
    if (!state.view) return;
    const msg = /** @type {HTMLInputElement} */ ($("editor-message"));
    const button = /** @type {HTMLButtonElement} */ ($("editor-save"));
    button.disabled = true;
    state.saveError = null;
    try {
      const v = await postJSON("/api/plant/versions", { text: state.view.state.doc.toString(), message: msg.value });
      msg.value = "";
      $("editor-saved").textContent = `Saved as version ${v.number}; the twin runs it now.`;
      await loadVersions(v.number);
      await showDiff(v.number);
      state.saved = v.number;
      viewer.signals.modelChanged.dispatch(v.number);
    } catch (err) {
      const problem = /** @type {any} */ (err).problem;
      state.saveError = problem?.detail ?? err.message;
      $("editor-saved").textContent = `Not saved: ${state.saveError}. The running model is unchanged.`;
      if (problem?.errors) listProblems(problem.errors);
    } finally {
      button.disabled = false;
    }
  }

  $("editor-save-form").onsubmit = save;
  $("editor-diff").onclick = () => showDiff(Number(/** @type {HTMLSelectElement} */ ($("editor-versions")).value));
  $("editor-open").onclick = () => {
    open();
    loadVersions().catch(() => {});
  };
  $("editor-close").onclick = () => {
    box.hidden = true;
    state.open = false;
  };
  return state;
}
