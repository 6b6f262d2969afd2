// What-if: start a simulation from the live state with changed parameters, beside a
// baseline run of the unchanged model (same seed: common random numbers), watch both
// progress, and compare throughput, OEE, energy and CO2e with 95 % confidence intervals.
// The bottleneck of the scenario is marked on the 3D line.
//
// Server side: GET /api/sim/model (parameters and their values), POST /api/sim/runs,
// GET /api/sim/runs/{id} (twinverse/api/routes/sim.py).
import * as THREE from "three";
import { getJSON, postJSON } from "./live.js";
import { $, control } from "./state.js";

const POLL_MS = 400;
/** Model time units per hour (throughput is shown per hour). */
const PER_HOUR = { s: 3600, min: 60, h: 1 };

/** @typedef {{mean: number | null, ci95: number | null, n: number}} Estimate */

/** The figures compared, from a result document (schema twinverse.sim.result/2). */
export function figures(result, oeeStation) {
  const k = PER_HOUR[result.time_unit] ?? 1;
  const scale = (/** @type {Estimate} */ e, f) => ({ mean: e.mean === null ? null : e.mean * f, ci95: e.ci95 === null ? null : e.ci95 * f });
  const st = result.stations.find((s) => s.id === oeeStation);
  return {
    throughput: scale(result.throughput, k),
    oee: st ? scale(st.oee, 100) : { mean: null, ci95: null },
    energy_kwh: scale(result.energy_kwh, 1),
    co2e_kg: scale(result.co2e_kg, 1),
    bottleneck: result.bottleneck.station,
  };
}

const ROWS = [
  ["throughput", "Throughput", "/h", 0],
  ["oee", "OEE", "%", 1],
  ["energy_kwh", "Energy", "kWh", 1],
  ["co2e_kg", "CO2e", "kg", 1],
];

function fmt(e, digits) {
  if (!e || e.mean === null) return "–";
  return e.ci95 === null ? e.mean.toFixed(digits) : `${e.mean.toFixed(digits)} ± ${e.ci95.toFixed(digits)}`;
}

/** @param {import("./state.js").Viewer} viewer */
export function startWhatIf(viewer) {
  const box = $("whatif");
  const select = /** @type {HTMLSelectElement} */ (/** @type {unknown} */ (control("wi-param")));
  const value = control("wi-value");
  /** @type {any} */
  let model = null;
  /** name → value (null: unbounded) @type {Map<string, number | null>} */
  const changes = new Map();
  /** What the panel shows (read by the test hook). */
  const state = { status: "idle", progress: { baseline: 0, scenario: 0 }, runs: { baseline: null, scenario: null },
                  compare: null, error: null, bottleneckTwin: null };  // prettier-ignore
  let marker = null;
  let generation = 0;

  async function open() {
    box.hidden = !box.hidden;
    if (box.hidden || model) return;
    try {
      model = await getJSON("/api/sim/model");
    } catch (err) {
      return showError(err.message);
    }
    control("wi-until").value = String(model.run.until ?? 3600);
    control("wi-reps").value = String(model.run.reps ?? 5);
    control("wi-seed").value = String(model.run.seed ?? 0);
    $("wi-unit").textContent = model.time_unit;
    select.textContent = "";
    for (const p of model.params) {
      const o = document.createElement("option");
      o.value = p.name;
      o.textContent = `${p.name} (${p.value ?? "∞"})`;
      select.appendChild(o);
    }
    const shifts = $("wi-shifts");
    shifts.textContent = "";
    for (const c of model.calendars) {
      const label = document.createElement("label");
      label.textContent = `Shift ${c.id} (every ${c.period} ${model.time_unit}), off: `;
      const input = document.createElement("input");
      input.type = "text";
      input.size = 24;
      input.dataset.calendar = c.id;
      input.value = c.off.map(([a, b]) => `${a}-${b}`).join(", ");
      input.defaultValue = input.value;
      label.appendChild(input);
      shifts.appendChild(label);
    }
    const pick = model.params.find((p) => p.name.startsWith("buffer.")) ?? model.params[0];
    if (pick) select.value = pick.name;
    syncValue();
  }

  function syncValue() {
    const p = model?.params.find((x) => x.name === select.value);
    value.value = p ? String(changes.get(p.name) ?? p.value ?? "") : "";
  }

  function renderChanges() {
    const ul = $("wi-changes");
    ul.textContent = "";
    for (const [name, v] of changes) {
      const li = document.createElement("li");
      li.dataset.param = name;
      const was = model.params.find((p) => p.name === name)?.value;
      li.textContent = `${name}: ${was ?? "∞"} → ${v ?? "∞"} `;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "×";
      b.title = "Remove this change";
      b.onclick = () => {
        changes.delete(name);
        renderChanges();
      };
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  /** Calendars whose off intervals were edited: id → {period, off}; "a-b, c-d" (empty: no breaks). */
  function changedShifts() {
    /** @type {Record<string, {period: number, off: number[][]}>} */
    const out = {};
    for (const input of /** @type {NodeListOf<HTMLInputElement>} */ ($("wi-shifts").querySelectorAll("input"))) {
      if (input.value === input.defaultValue) continue;
      const cal = model.calendars.find((c) => c.id === input.dataset.calendar);
      const off = input.value.split(",").map((x) => x.trim()).filter(Boolean).map((x) => x.split("-").map(Number));
      out[cal.id] = { period: cal.period, off };
    }
    return out;
  }

  function showError(text) {
    state.error = text;
    state.status = text ? "failed" : state.status;
    $("wi-error").textContent = text ?? "";
    $("wi-error").hidden = !text;
  }

  async function run() {
    const my = ++generation;
    showError(null);
    state.compare = null;
    state.progress = { baseline: 0, scenario: 0 };
    state.status = "running";
    renderProgress();
    $("wi-compare").textContent = "";
    const until = Number(control("wi-until").value);
    // Playback samples (playback.js): about 480 per run, at most the server's 10,000.
    const playback = Math.max(until / 480, until / 10000);
    const body = { until, reps: Number(control("wi-reps").value), playback,
                   seed: Number(control("wi-seed").value), from_live: control("wi-live").checked };  // prettier-ignore
    try {
      const [b, s] = await Promise.all([
        postJSON("/api/sim/runs", body),
        postJSON("/api/sim/runs", { ...body, params: Object.fromEntries(changes), calendars: changedShifts() }),
      ]);
      state.runs = { baseline: b.id, scenario: s.id };
      const done = await Promise.all([poll(b.id, "baseline", my), poll(s.id, "scenario", my)]);
      if (my !== generation) return;
      const failed = done.find((r) => r.status !== "done");
      if (failed) return showError(`the ${failed === done[0] ? "baseline" : "scenario"} run ${failed.status}: ${failed.error ?? ""}`);
      compare(done[0].result, done[1].result);
      viewer.signals.simRunsDone.dispatch(runsFor(done[0].result, done[1].result));
    } catch (err) {
      if (my === generation) showError(err.message);
    }
  }

  async function poll(id, which, my) {
    for (;;) {
      const r = await getJSON(`/api/sim/runs/${id}`);
      state.progress[which] = r.progress;
      renderProgress();
      if (["done", "failed", "cancelled"].includes(r.status) || my !== generation) return r;
      await new Promise((ok) => setTimeout(ok, POLL_MS));
    }
  }

  function renderProgress() {
    for (const which of ["baseline", "scenario"]) {
      const bar = /** @type {HTMLProgressElement} */ (/** @type {unknown} */ ($(`wi-p-${which}`)));
      bar.value = state.progress[which];
    }
  }

  function compare(base, scen) {
    const oeeStation = base.bottleneck.station ?? base.stations.at(-1)?.id;
    const b = figures(base, oeeStation);
    const s = figures(scen, oeeStation);
    state.compare = { baseline: b, scenario: s, oeeStation };
    state.status = "done";
    const t = /** @type {HTMLTableElement} */ ($("wi-compare"));
    t.textContent = "";
    const head = t.insertRow();
    for (const h of ["", "baseline", "scenario", "change"]) head.appendChild(Object.assign(document.createElement("th"), { textContent: h }));
    for (const [key, label, unit, digits] of ROWS) {
      const tr = t.insertRow();
      tr.dataset.figure = String(key);
      const name = key === "oee" ? `${label} (${oeeStation})` : `${label} ${unit}`;
      const delta = b[key].mean && s[key].mean !== null ? `${(((s[key].mean - b[key].mean) / b[key].mean) * 100).toFixed(1)} %` : "–";
      for (const text of [name, fmt(b[key], digits), fmt(s[key], digits), delta]) tr.insertCell().textContent = text;
    }
    const tr = t.insertRow();
    tr.dataset.figure = "bottleneck";
    for (const text of ["Bottleneck", b.bottleneck ?? "–", s.bottleneck ?? "–", ""]) tr.insertCell().textContent = text;
    markBottleneck(model.stations.find((x) => x.id === s.bottleneck)?.twin ?? null);
  }

  /** Both results with what a playback needs: element → twin, buffer capacities per run. */
  function runsFor(baseline, scenario) {
    /** @type {Record<string, string>} */
    const elements = {};
    for (const st of model.stations) if (st.twin) elements[st.id] = st.twin;
    /** @type {Record<string, Record<string, number | null>>} */
    const capacity = { baseline: {}, scenario: {} };
    for (const p of model.params) {
      if (p.kind !== "buffer" || p.attr !== "capacity") continue;
      if (p.twin) elements[p.element] = p.twin;
      capacity.baseline[p.element] = p.value;
      capacity.scenario[p.element] = changes.has(p.name) ? changes.get(p.name) : p.value;
    }
    return { baseline, scenario, elements, capacity, timeUnit: model.time_unit };
  }

  function markBottleneck(twin) {
    marker?.removeFromParent();
    marker = null;
    state.bottleneckTwin = twin;
    const i = twin ? viewer.index.get(twin) : undefined;
    if (i === undefined || !viewer.view) return;
    const o = viewer.layout.objects;
    marker = new THREE.Mesh(new THREE.TorusGeometry(Math.max(o.w[i], o.d[i]) * 0.7, 0.12, 8, 32),
                            new THREE.MeshBasicMaterial({ color: 0xff4d4f }));  // prettier-ignore
    marker.rotation.x = Math.PI / 2;
    marker.position.set(o.x[i], o.y[i] + o.h[i] + 0.2, o.z[i]);
    marker.userData.bottleneck = twin;
    viewer.view.scene.add(marker);
    viewer.view.dirty = true;
  }

  $("whatif-open").onclick = open;
  $("wi-close").onclick = () => (box.hidden = true);
  select.onchange = syncValue;
  $("wi-add").onclick = () => {
    if (!select.value) return;
    const v = value.value.trim();
    changes.set(select.value, v === "" || v === "inf" || v === "∞" ? null : Number(v));
    renderChanges();
  };
  $("wi-run").onclick = run;
  viewer.signals.layoutBuilt.add(() => {
    marker = null; // went with the old scene
  });
  return state;
}
