// Labels over the machines nearest the orbit target: name and one live (or past) value.
import { Vector3 } from "three";
import { $ } from "./state.js";

/** @typedef {{el: HTMLElement, obj: number, text: string}} Label */

/** @param {any} v */
function fmtLabel(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "" : String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/**
 * Keep up to `max` labels placed, redrawn at most every 100 ms while frames are drawn.
 * @param {import("./state.js").Viewer} viewer
 * @param {number} max
 * @returns {Label[]} the label pool (read by the test hook)
 */
export function startLabels(viewer, max) {
  /** @type {Label[]} */
  const pool = [];
  const _v = new Vector3();
  let last = 0;

  viewer.signals.layoutBuilt.add((layout) => {
    const box = $("labels");
    box.textContent = "";
    pool.length = 0;
    const n = Math.min(max, layout.objects.count);
    for (let k = 0; k < n; k++) {
      const d = document.createElement("div");
      d.className = "label";
      d.hidden = true;
      box.appendChild(d);
      pool.push({ el: d, obj: -1, text: "" });
    }
    viewer.labelsDirty = true;
  });

  const place = () => {
    const o = viewer.layout.objects;
    const conveyorShape = viewer.layout.shapes.indexOf("conveyor");
    if (!pool.length) return;
    const rect = $("view").getBoundingClientRect();
    // Nearest the camera first: those win when labels would overlap.
    const c = viewer.view.camera.position;
    const t = viewer.view.controls.target;
    const d = new Float64Array(o.count);
    const machineFirst = (/** @type {number} */ i) => (o.machine[i] && o.shape[i] !== conveyorShape ? 0 : 1e9);
    for (let i = 0; i < o.count; i++) {
      d[i] = (o.x[i] - t.x) ** 2 + (o.z[i] - t.z) ** 2 + (o.x[i] - c.x) ** 2 + (o.z[i] - c.z) ** 2 + machineFirst(i);
    }
    const rows = Array.from(d.keys()).sort((a, b) => d[a] - d[b]).slice(0, pool.length);
    const src = viewer.mode === "live" ? viewer.liveVal : null;
    /** @type {number[][]} */
    const placed = []; // screen boxes of labels already shown: nearer labels win, the rest hide
    pool.forEach((l, k) => {
      const i = rows[k];
      if (i === undefined || !viewer.view.project(o.x[i], o.y[i] + o.h[i] + 0.3, o.z[i], _v)) {
        l.el.hidden = true;
        return;
      }
      const sid = viewer.labelSid[i];
      const m = sid >= 0 ? viewer.meta[sid] : null;
      const v = sid >= 0 ? (src ? src[sid] : viewer.pastLabel?.[sid]) : undefined;
      const text =
        m && v !== undefined && v !== null ? `${o.name[i]} · ${fmtLabel(v)}${m.unit ? " " + m.unit : ""}` : o.name[i];
      const x = ((_v.x + 1) / 2) * rect.width;
      const y = ((1 - _v.y) / 2) * rect.height;
      const w = text.length * 6.3 + 10;
      const box = [x - w / 2, y - 17, x + w / 2, y];
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) {
        l.el.hidden = true;
        return;
      }
      placed.push(box);
      if (text !== l.text) l.el.textContent = l.text = text;
      l.el.style.transform = `translate(-50%, -100%) translate(${x}px, ${y}px)`;
      l.el.hidden = false;
      l.obj = i;
    });
  };

  viewer.signals.frameRendered.add((now, drew) => {
    if ((drew && (viewer.labelsDirty || now - last > 100)) || (!drew && viewer.labelsDirty && now - last > 250)) {
      place();
      viewer.labelsDirty = false;
      last = now;
    }
  });
  return pool;
}
