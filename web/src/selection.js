// Selection, hover and tooltip: picking in the 3D view, the tree's marker, the details panel.
import { $ } from "./state.js";
import { EQUIPMENT_COLOR, hexOf } from "./states.js";

/** @param {import("./state.js").Viewer} viewer */
export function startSelection(viewer) {
  /** @type {{x: number, y: number} | null} */
  let hoverPending = null;

  viewer.signals.objectSelected.add((i, openPanel) => {
    viewer.view.select(i);
    const id = i >= 0 ? viewer.layout.objects.id[i] : null;
    viewer.tree?.mark(id);
    if (i < 0) {
      if (!viewer.panel.root.hidden) viewer.panel.close();
      return;
    }
    if (!openPanel) return;
    viewer.panel.open(id, viewer.sidsOf.get(id) ?? {}).then(() => viewer.signals.detailsOpened.dispatch(id));
  });

  viewer.signals.layoutBuilt.add(() => {
    const canvas = viewer.view.renderer.domElement;
    if (canvas.dataset.wired) return;
    canvas.dataset.wired = "1";
    /** @type {{x: number, y: number} | null} */
    let down = null;
    canvas.addEventListener("pointerdown", (/** @type {PointerEvent} */ e) => (down = { x: e.clientX, y: e.clientY }));
    canvas.addEventListener("pointerup", (/** @type {PointerEvent} */ e) => {
      if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return;
      viewer.select(viewer.view.pick(e.clientX, e.clientY));
    });
    canvas.addEventListener("pointermove", (/** @type {PointerEvent} */ e) => {
      hoverPending = { x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener("pointerleave", () => {
      hoverPending = null;
      $("tooltip").hidden = true;
      viewer.view.hover(-1);
    });
  });

  // Hover picking at most ten times a second: raycasting 10,000 instances is not free.
  const timer = setInterval(() => {
    if (!hoverPending || !viewer.view) return;
    const { x, y } = hoverPending;
    hoverPending = null;
    const i = viewer.view.pick(x, y);
    viewer.view.hover(i);
    const tip = $("tooltip");
    if (i < 0) {
      tip.hidden = true;
      return;
    }
    const o = viewer.layout.objects;
    const state = o.machine[i] ? (viewer.shown[i] ?? "no data") : "no state";
    tip.innerHTML = "";
    const b = document.createElement("b");
    b.textContent = o.name[i];
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = o.machine[i] ? hexOf(viewer.keyOf[i]) : EQUIPMENT_COLOR;
    tip.append(b, document.createElement("br"), `${o.type[i]} · `, sw, ` ${state}`);
    const r = $("view").getBoundingClientRect();
    tip.style.left = `${x - r.left + 14}px`;
    tip.style.top = `${y - r.top + 14}px`;
    tip.hidden = false;
  }, 100);
  return () => clearInterval(timer);
}
