// The legend: one entry per state of the vocabulary (plus unknown ones seen), with counts.
import { $ } from "./state.js";
import { hexOf, isAlarm, labelOf, legendKeys } from "./states.js";

/** @param {import("./state.js").Viewer} viewer */
export function startLegend(viewer) {
  const build = () => {
    const ul = $("legend-list");
    ul.textContent = "";
    const entries = [
      ...legendKeys().map((k) => [k, labelOf(k)]),
      ...[...viewer.unknown].map((k) => [k, `${k.slice(6)} (unknown)`]),
    ];
    for (const [key, label] of entries) {
      const li = document.createElement("li");
      li.dataset.key = key;
      const sw = document.createElement("span");
      sw.className = `swatch${isAlarm(key) ? " pulse" : ""}`;
      sw.style.background = hexOf(key);
      const n = document.createElement("span");
      n.className = "count";
      li.append(sw, ` ${label} `, n);
      ul.appendChild(li);
    }
    counts();
  };
  const counts = () => {
    if (!viewer.layout) return;
    /** @type {Map<string, number>} */
    const n = new Map();
    for (const k of viewer.keyOf) if (k) n.set(k, (n.get(k) ?? 0) + 1);
    for (const li of /** @type {HTMLCollectionOf<HTMLElement>} */ ($("legend-list").children)) {
      li.querySelector(".count").textContent = String(n.get(li.dataset.key) ?? 0);
    }
  };
  viewer.signals.layoutBuilt.add(build);
  viewer.signals.unknownState.add(build);
  const timer = setInterval(counts, 500);
  return () => clearInterval(timer);
}
