// The KPI panel: a line's (or the selected machine's) current shift beside the previous one —
// OEE and its factors (ISO 22400-2), energy, CO2e and kg CO2e per 1,000 good units — from
// GET /api/kpis?shift=current|previous (docs/kpis.md). Without a shift calendar: the last
// 8 hours beside the 8 before. Refreshed every 15 s while open.
import "./ops.css";
import { getJSON } from "./live.js";
import { $ } from "./state.js";

/** @type {Array<[string, string, (t: any) => any, string]>} */
const ROWS = [
  ["oee", "OEE", (t) => t.kpis.oee, "pct"],
  ["availability", "availability", (t) => t.kpis.availability, "pct"],
  ["effectiveness", "effectiveness", (t) => t.kpis.effectiveness, "pct"],
  ["quality_ratio", "quality ratio", (t) => t.kpis.quality_ratio, "pct"],
  ["technical_efficiency", "technical efficiency", (t) => t.kpis.technical_efficiency, "pct"],
  ["good", "good units", (t) => t.good_units_out ?? t.gq, "int"],
  ["failures", "failures", (t) => t.failures, "int"],
  ["energy_kwh", "energy kWh", (t) => t.energy_kwh, "num"],
  ["co2e_kg", "kg CO2e (location)", (t) => t.co2e_kg, "num"],
  ["co2e_market_kg", "kg CO2e (market)", (t) => t.co2e_market_kg, "num"],
  ["co2e_per_1000", "kg CO2e / 1,000 units", (t) => (t.co2e_kg_per_good_unit == null ? null : t.co2e_kg_per_good_unit * 1000), "num3"],
  ["kwh_per_1000", "kWh / 1,000 units", (t) => (t.kwh_per_good_unit == null ? null : t.kwh_per_good_unit * 1000), "num3"],
];

/** @param {any} v @param {string} how */
export function fmtKpi(v, how) {
  if (v === null || v === undefined) return "–";
  if (how === "pct") return `${(v * 100).toFixed(1)} %`;
  if (how === "int") return Math.round(v).toLocaleString("en");
  if (how === "num3") return v.toFixed(3);
  return v.toFixed(2);
}

/** @param {import("./state.js").Viewer} viewer */
export function startKpis(viewer) {
  const box = document.createElement("section");
  box.id = "kpis";
  box.hidden = true;
  box.setAttribute("aria-label", "KPIs");
  box.innerHTML = `<header><h3>KPIs <span id="kpi-twin" class="muted"></span></h3>
    <select id="kpi-scope" aria-label="Line or machine"></select>
    <button id="kpi-close" class="close" type="button" title="Close">×</button></header>
    <table id="kpi-table"><thead><tr><th></th><th id="kpi-cur">current shift</th><th id="kpi-prev">previous</th></tr></thead><tbody></tbody></table>
    <p id="kpi-note" class="muted"></p><p id="kpi-error" class="error" hidden></p>`;
  $("stage").appendChild(box);
  const open = document.createElement("button");
  open.className = "tool";
  open.id = "kpis-open";
  open.type = "button";
  open.title = "OEE, energy and CO2e of this shift and the previous one";
  open.textContent = "KPIs";
  $("tools").appendChild(open);
  const scope = /** @type {HTMLSelectElement} */ (box.querySelector("#kpi-scope"));
  let timer = null;
  let token = 0;

  const twin = () => (scope.value === "@selected" ? viewer.layout.objects.id[viewer.selected] : scope.value);

  async function load() {
    const t = twin();
    if (!t) return;
    const mine = ++token;
    const q = (extra) => getJSON(`/api/kpis?twin=${encodeURIComponent(t)}&${extra}`);
    let cur, prev;
    try {
      [cur, prev] = await Promise.all([q("shift=current"), q("shift=previous")]);
    } catch (err) {
      try {
        // no shift calendar: the last 8 hours beside the 8 before
        [cur, prev] = await Promise.all([q("start=-8h&end=now"), q("start=-16h&end=-8h")]);
      } catch (_) {
        if (mine !== token) return;
        const e = $("kpi-error");
        e.hidden = false;
        e.textContent = String(/** @type {Error} */ (err).message ?? err);
        return;
      }
    }
    if (mine !== token) return;
    $("kpi-error").hidden = true;
    $("kpi-cur").textContent = cur.shift ? `${cur.shift.shift} (now)` : "last 8 h";
    $("kpi-prev").textContent = prev.shift ? prev.shift.label : "8 h before";
    const tbody = box.querySelector("tbody");
    tbody.textContent = "";
    for (const [key, label, get, how] of ROWS) {
      const tr = document.createElement("tr");
      tr.dataset.figure = key;
      for (const text of [label, fmtKpi(get(cur.total), how), fmtKpi(get(prev.total), how)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    const g = cur.grid_factor;
    $("kpi-note").textContent =
      `grid factor ${g.grid} ${g.year}: ${g.kg_per_kwh} kg CO2/kWh; market-based ${cur.scope2.market_kg_per_kwh.toFixed(4)}. ` +
      `energy from ${cur.total.energy_source}.`;
    box.dataset.twin = t;
    box.dataset.loaded = String(Date.now());
  }

  function show(on) {
    box.hidden = !on;
    clearInterval(timer);
    if (on) {
      load();
      timer = setInterval(load, 15000);
    }
  }
  open.onclick = () => show(box.hidden);
  /** @type {HTMLElement} */ (box.querySelector("#kpi-close")).onclick = () => show(false);
  scope.onchange = () => load();

  viewer.signals.layoutBuilt.add((layout) => {
    scope.textContent = "";
    const zones = layout.zones.map((z) => z.id);
    const lines = zones.filter((z) => /line/i.test(z));
    for (const id of [...lines, ...zones.filter((z) => !lines.includes(z)), layout.plant.id]) {
      const o = document.createElement("option");
      o.value = id;
      o.textContent = id.slice(layout.plant.id.length + 1) || id;
      scope.appendChild(o);
    }
    const sel = document.createElement("option");
    sel.value = "@selected";
    sel.textContent = "selected machine";
    scope.appendChild(sel);
  });
  viewer.signals.objectSelected.add(() => {
    if (!box.hidden && scope.value === "@selected") load();
  });
  return { load, show };
}
