// Notes pinned to machines: the list (text, author, time, open/resolved), a form that pins
// a note to the selected machine, and a pin above every machine with open notes.
// Viewers read; the form and the resolve buttons are for those the server lets write
// (canWrite), and the server refuses anyone else's change whatever this page does.
import * as THREE from "three";
import { $, control } from "./state.js";

/** @typedef {import("./collab.js").Note} Note */

const PIN = 0xffd43b;

/** @param {import("./state.js").Viewer} viewer */
export function startNotes(viewer) {
  const list = $("notes-list");
  const form = /** @type {HTMLFormElement} */ ($("note-form"));
  const text = /** @type {HTMLTextAreaElement} */ (/** @type {unknown} */ (control("note-text")));
  const add = /** @type {HTMLButtonElement} */ (/** @type {unknown} */ (control("note-add")));
  /** @type {Note[]} */
  let notes = [];
  /** twin → pin mesh @type {Map<string, THREE.Mesh>} */
  const pins = new Map();
  const pinGeo = new THREE.ConeGeometry(0.25, 0.6, 12);
  pinGeo.rotateX(Math.PI); // point down at the machine
  const pinMat = new THREE.MeshBasicMaterial({ color: PIN });

  const canWrite = () => !!viewer.collab?.me.canWrite;
  const selectedTwin = () => (viewer.selected >= 0 ? viewer.layout.objects.id[viewer.selected] : null);

  function updateForm() {
    const twin = selectedTwin();
    form.hidden = !canWrite();
    add.disabled = !twin || !text.value.trim();
    $("note-target").textContent = twin ? `on ${viewer.layout.objects.name[viewer.selected]}` : "select a machine first";
    $("notes-readonly").hidden = canWrite() || !viewer.collab;
  }

  function render() {
    list.textContent = "";
    const o = viewer.layout?.objects;
    for (const n of notes.slice().reverse()) {
      const li = document.createElement("li");
      li.dataset.note = n.id;
      li.className = n.status;
      const row = viewer.index.get(n.twin);
      const head = document.createElement("div");
      head.className = "note-head";
      head.textContent = `${row !== undefined ? o.name[row] : n.twin} · ${n.author} · ${new Date(n.created).toLocaleString()}`;
      const body = document.createElement("div");
      body.className = "note-text";
      body.textContent = n.text;
      const st = document.createElement("span");
      st.className = "note-status";
      st.textContent = n.status === "resolved" ? `resolved by ${n.resolved_by ?? "?"}` : "open";
      li.append(head, body, st);
      if (canWrite()) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "resolve";
        b.textContent = n.status === "open" ? "Resolve" : "Reopen";
        b.onclick = (e) => {
          e.stopPropagation();
          viewer.collab.setResolved(n.id, n.status === "open");
        };
        li.appendChild(b);
      }
      li.onclick = () => {
        if (row === undefined) return;
        viewer.select(row);
        viewer.view.flyTo(row);
      };
      list.appendChild(li);
    }
    $("notes-count").textContent = String(notes.filter((n) => n.status === "open").length);
    updatePins();
    updateForm();
  }

  function updatePins() {
    if (!viewer.view) return;
    const o = viewer.layout.objects;
    const open = new Set(notes.filter((n) => n.status === "open").map((n) => n.twin));
    for (const [twin, mesh] of pins) {
      if (!open.has(twin)) {
        mesh.removeFromParent();
        pins.delete(twin);
      }
    }
    for (const twin of open) {
      const i = viewer.index.get(twin);
      if (i === undefined || pins.has(twin)) continue;
      const mesh = new THREE.Mesh(pinGeo, pinMat);
      mesh.position.set(o.x[i], o.y[i] + o.h[i] + 0.7, o.z[i]);
      mesh.userData.note = twin;
      viewer.view.scene.add(mesh);
      pins.set(twin, mesh);
    }
    viewer.view.dirty = true;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const twin = selectedTwin();
    const value = text.value.trim();
    if (!twin || !value || !viewer.collab) return;
    viewer.collab.addNote(twin, value);
    text.value = "";
    updateForm();
  });
  text.addEventListener("input", updateForm);
  viewer.signals.notesChanged.add((n) => {
    notes = n;
    render();
  });
  viewer.signals.objectSelected.add(updateForm);
  viewer.signals.collabStatus.add(render);
  viewer.signals.layoutBuilt.add(() => {
    pins.clear(); // the old scene went with its pins
    render();
  });
  return { pins };
}
