// twinverse 3D viewer: the plant from GET /api/scene, live state over /ws, details, time travel.
import "./style.css";
import { Color, Vector3 } from "three";
import { Scene3D } from "./scene3d.js";
import { LiveConnection, getJSON } from "./live.js";
import { DetailsPanel } from "./panel.js";
import { PlantTree } from "./tree.js";
import {
  EQUIPMENT_COLOR,
  NO_DATA,
  colorOf,
  hexOf,
  isAlarm,
  labelOf,
  legendKeys,
  loadStates,
  palette,
  stateKey,
} from "./states.js";

const params = new URLSearchParams(location.search);
const INSTANCED = params.get("render") !== "meshes";
const MAX_LABELS = Number(params.get("labels") ?? 48);
/** How far before a past moment to look for each signal's last value. */
const LOOKBACK = "6h";
/** Signals shown on a machine's label, first found wins. */
const LABEL_SIGNALS = ["speed", "level", "power", "temperature", "pressure"];
const SPANS = { "15m": 900e3, "1h": 3600e3, "6h": 21600e3, "24h": 86400e3 };

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** The time-line's form controls (inputs and selects) by id. @param {string} id */
const control = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

const app = {
  layout: null,
  view: null,
  panel: null,
  tree: null,
  conn: null,
  index: new Map(), // twin id -> object row
  meta: [], // sid -> {obj, twin, signal, kind, states, unit}
  sidsOf: new Map(), // twin id -> {signal: sid}
  liveVal: [],
  liveTs: [],
  mode: "live",
  travelAt: null,
  shown: [], // object row -> displayed state value
  keyOf: [], // object row -> legend key
  labelSid: null, // object row -> sid shown on its label (Int32Array, -1 none)
  alarms: new Set(),
  unknown: new Set(),
  selected: -1,
  frames: 0,
  firstFullFrame: null,
  snapshotApplied: false,
  bench: null,
  deltas: 0,
  lastDeltaAt: 0,
};

// -- boot ------------------------------------------------------------------------------------
/** Keep trying ``load`` (a server starting up, a token still missing), saying why on the banner. */
async function retrying(load) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await load();
    } catch (err) {
      banner(`Cannot load the plant: ${err.message}; retrying…`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
}

async function boot() {
  const [layout] = await Promise.all([retrying(() => getJSON("/api/scene")), retrying(loadStates)]);
  build(layout);
  app.conn = new LiveConnection(layout.plant.id, { onSnapshot, onDelta, onStatus });
  app.conn.start();
  requestAnimationFrame(frame);
}

function build(layout) {
  app.layout = layout;
  const o = layout.objects;
  document.title = `twinverse — ${layout.plant.name}`;
  $("plant-name").textContent = layout.plant.name;
  app.index = new Map(o.id.map((id, i) => [id, i]));
  if (app.view) app.view.dispose();
  app.view = new Scene3D($("view"), layout, { instanced: INSTANCED });
  app.shown = new Array(o.count).fill(null);
  app.keyOf = new Array(o.count).fill(NO_DATA);
  app.labelSid = new Int32Array(o.count).fill(-1);
  app.alarms.clear();
  const equipment = new Color(EQUIPMENT_COLOR);
  for (let i = 0; i < o.count; i++) {
    if (o.machine[i]) app.view.setColor(i, colorOf(NO_DATA));
    else {
      app.view.setColor(i, equipment);
      app.keyOf[i] = null;
    }
  }
  $("empty").hidden = o.count > 0;
  app.view.fit();
  app.tree = new PlantTree($("tree"), layout, {
    onPick: (node) => {
      if (node.obj >= 0) {
        select(node.obj);
        app.view.flyTo(node.obj);
      } else {
        const z = layout.zones.find((x) => x.id === node.id);
        if (z) app.view.fit({ x0: z.rect[0], z0: z.rect[1], x1: z.rect[2], z1: z.rect[3] }, true);
      }
    },
  });
  app.panel ??= new DetailsPanel($("panel"), { onClose: () => select(-1, false) });
  buildLegend();
  buildLabels();
  wirePointer();
}

// -- live data -------------------------------------------------------------------------------
function onStatus({ connected, retryIn }) {
  const st = $("status");
  st.textContent = connected ? "live" : "disconnected";
  st.className = `status ${connected ? "connected" : "disconnected"}`;
  if (connected) {
    banner(null);
    recheckLayout();
  } else {
    banner(`Disconnected from the server — reconnecting in ${(retryIn / 1000).toFixed(1)} s…`);
  }
}

/** After a reconnect: if the server now serves another plant or layout, rebuild. */
async function recheckLayout() {
  if (!app.snapshotApplied) return;
  try {
    const layout = await getJSON("/api/scene");
    if (layout.version !== app.layout.version) {
      select(-1);
      build(layout);
      app.conn.stop();
      app.conn = new LiveConnection(layout.plant.id, { onSnapshot, onDelta, onStatus });
      app.conn.start();
    }
  } catch (_) {
    /* the connection status reports trouble */
  }
}

function onSnapshot(msg) {
  for (const s of msg.signals) {
    const obj = app.index.get(s.twin) ?? -1;
    app.meta[s.sid] = { obj, twin: s.twin, signal: s.signal, kind: s.kind, states: s.states, unit: s.unit };
    let m = app.sidsOf.get(s.twin);
    if (!m) app.sidsOf.set(s.twin, (m = {}));
    m[s.signal] = s.sid;
  }
  for (const [twin, sigs] of app.sidsOf) {
    const obj = app.index.get(twin);
    if (obj === undefined) continue;
    const name = LABEL_SIGNALS.find((n) => n in sigs);
    app.labelSid[obj] = name ? sigs[name] : -1;
  }
  applyLive(msg);
  app.snapshotApplied = true;
  app.view.dirty = true;
}

function onDelta(msg) {
  const t0 = performance.now();
  app.deltas++;
  app.lastDeltaAt = t0;
  applyLive(msg);
  if (app.bench) app.bench.applyMs.push(performance.now() - t0);
}

function applyLive(msg) {
  const { sid, value, ts } = msg;
  const live = app.mode === "live";
  for (let k = 0; k < sid.length; k++) {
    const s = sid[k];
    app.liveVal[s] = value[k];
    app.liveTs[s] = ts[k];
    if (live) show(s, value[k]);
    if (app.selected >= 0 && app.panel.twin && app.meta[s]?.twin === app.panel.twin) app.panel.append(s, value[k], ts[k]);
  }
}

/** Display one value: colour for a state, label text, panel cell. */
function show(sid, value) {
  const m = app.meta[sid];
  if (!m) return;
  if (m.obj >= 0) {
    if (m.signal === "state" && m.kind === "state") recolour(m.obj, value);
    if (app.labelSid[m.obj] === sid) app.labelsDirty = true;
  }
  if (app.panel?.twin === m.twin) app.panel.setValue(sid, value);
}

function recolour(i, value) {
  const key = stateKey(value);
  app.shown[i] = value;
  if (app.keyOf[i] === key) return;
  app.keyOf[i] = key;
  if (key.startsWith("other:") && !app.unknown.has(key)) {
    app.unknown.add(key);
    buildLegend();
  }
  if (isAlarm(key)) app.alarms.add(i);
  else app.alarms.delete(i);
  app.view.setColor(i, colorOf(key));
}

// -- time travel -----------------------------------------------------------------------------
const travel = { inflight: false, pending: false, timer: null };

function spanMs() {
  return SPANS[control("tl-span").value];
}

function setMode(mode) {
  app.mode = mode;
  $("tl-live").classList.toggle("on", mode === "live");
  document.body.classList.toggle("past", mode === "past");
  if (mode === "live") {
    app.travelAt = null;
    app.pastLabel = [];
    control("tl-slider").value = control("tl-slider").max;
    $("tl-time").textContent = "live";
    for (let s = 0; s < app.meta.length; s++) if (app.meta[s]) show(s, app.liveVal[s] ?? null);
  }
}

function travelTo(at) {
  if (at >= Date.now()) {
    stopPlay();
    setMode("live");
    return;
  }
  if (app.mode !== "past") setMode("past");
  app.travelAt = at;
  const frac = 1 - (Date.now() - at) / spanMs();
  control("tl-slider").value = String(Math.round(Math.max(0, frac) * Number(control("tl-slider").max)));
  $("tl-time").textContent = new Date(at).toLocaleString();
  requestTravel();
}

async function requestTravel() {
  if (travel.inflight) {
    travel.pending = true;
    return;
  }
  travel.inflight = true;
  const at = app.travelAt;
  try {
    const iso = new Date(at).toISOString();
    const snap = await getJSON(`/api/scene/state?at=${encodeURIComponent(iso)}&lookback=${LOOKBACK}`);
    if (app.mode === "past" && app.travelAt === at) applyPast(snap);
    const twin = app.panel.twin;
    if (twin && app.mode === "past") {
      const full = await getJSON(
        `/api/scene/state?at=${encodeURIComponent(iso)}&lookback=${LOOKBACK}&signals=all&within=${encodeURIComponent(twin)}`,
      );
      if (app.mode === "past" && app.travelAt === at) applyPast(full);
    }
  } catch (err) {
    banner(`Time travel failed: ${err.message}`, 4000);
  } finally {
    travel.inflight = false;
    if (travel.pending) {
      travel.pending = false;
      requestTravel();
    }
  }
}

function applyPast(snap) {
  app.pastLabel ??= [];
  for (let k = 0; k < snap.sid.length; k++) {
    app.pastLabel[snap.sid[k]] = snap.value[k];
    show(snap.sid[k], snap.value[k]);
  }
  app.pastAppliedAt = snap.at;
}

function stopPlay() {
  clearInterval(travel.timer);
  travel.timer = null;
  $("tl-play").textContent = "▶";
  $("tl-play").title = "play";
}

function wireTimeline() {
  const slider = control("tl-slider");
  slider.addEventListener("input", () => {
    const frac = Number(slider.value) / Number(slider.max);
    if (frac >= 1) {
      stopPlay();
      setMode("live");
      return;
    }
    travelTo(Date.now() - (1 - frac) * spanMs());
  });
  $("tl-live").onclick = () => {
    stopPlay();
    setMode("live");
  };
  $("tl-play").onclick = () => {
    if (travel.timer) return stopPlay();
    if (app.mode === "live") travelTo(Date.now() - spanMs());
    $("tl-play").textContent = "⏸";
    $("tl-play").title = "pause";
    const tick = 250;
    travel.timer = setInterval(() => travelTo(app.travelAt + tick * Number(control("tl-speed").value)), tick);
  };
  control("tl-span").onchange = () => {
    if (app.mode === "past") travelTo(Math.max(app.travelAt, Date.now() - spanMs()));
  };
}

// -- selection, hover, tooltip ---------------------------------------------------------------
function select(i, openPanel = true) {
  app.selected = i;
  app.view.select(i);
  const id = i >= 0 ? app.layout.objects.id[i] : null;
  app.tree?.mark(id);
  if (i < 0) {
    if (!app.panel.root.hidden) app.panel.close();
    return;
  }
  if (!openPanel) return;
  app.panel.open(id, app.sidsOf.get(id) ?? {}).then(() => {
    const sids = app.sidsOf.get(id) ?? {};
    if (app.mode === "past") requestTravel();
    else for (const s of Object.values(sids)) app.panel.setValue(s, app.liveVal[s] ?? null);
  });
}

function wirePointer() {
  const canvas = app.view.renderer.domElement;
  if (canvas.dataset.wired) return;
  canvas.dataset.wired = "1";
  let down = null;
  let hoverPending = null;
  canvas.addEventListener("pointerdown", (e) => (down = { x: e.clientX, y: e.clientY }));
  canvas.addEventListener("pointerup", (e) => {
    if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return;
    const i = app.view.pick(e.clientX, e.clientY);
    select(i);
  });
  canvas.addEventListener("pointermove", (e) => {
    hoverPending = { x: e.clientX, y: e.clientY };
  });
  canvas.addEventListener("pointerleave", () => {
    hoverPending = null;
    $("tooltip").hidden = true;
    app.view.hover(-1);
  });
  // Hover picking at most ten times a second: raycasting 10,000 instances is not free.
  setInterval(() => {
    if (!hoverPending) return;
    const { x, y } = hoverPending;
    hoverPending = null;
    const i = app.view.pick(x, y);
    app.view.hover(i);
    const tip = $("tooltip");
    if (i < 0) {
      tip.hidden = true;
      return;
    }
    const o = app.layout.objects;
    const state = o.machine[i] ? (app.shown[i] ?? "no data") : "no state";
    tip.innerHTML = "";
    const b = document.createElement("b");
    b.textContent = o.name[i];
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = o.machine[i] ? hexOf(app.keyOf[i]) : EQUIPMENT_COLOR;
    tip.append(b, document.createElement("br"), `${o.type[i]} · `, sw, ` ${state}`);
    const r = $("view").getBoundingClientRect();
    tip.style.left = `${x - r.left + 14}px`;
    tip.style.top = `${y - r.top + 14}px`;
    tip.hidden = false;
  }, 100);
}

// -- legend ----------------------------------------------------------------------------------
function buildLegend() {
  const ul = $("legend-list");
  ul.textContent = "";
  const entries = [...legendKeys().map((k) => [k, labelOf(k)]), ...[...app.unknown].map((k) => [k, `${k.slice(6)} (unknown)`])];
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
  updateLegendCounts();
}

function updateLegendCounts() {
  const counts = new Map();
  for (const k of app.keyOf) if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const li of /** @type {HTMLCollectionOf<HTMLElement>} */ ($("legend-list").children)) {
    li.querySelector(".count").textContent = String(counts.get(li.dataset.key) ?? 0);
  }
}
setInterval(() => app.layout && updateLegendCounts(), 500);

// -- labels ----------------------------------------------------------------------------------
const labelPool = [];
const _v = new Vector3();
function buildLabels() {
  const box = $("labels");
  box.textContent = "";
  labelPool.length = 0;
  const n = Math.min(MAX_LABELS, app.layout.objects.count);
  for (let k = 0; k < n; k++) {
    const d = document.createElement("div");
    d.className = "label";
    d.hidden = true;
    box.appendChild(d);
    labelPool.push({ el: d, obj: -1, text: "" });
  }
  app.labelsDirty = true;
}

function fmtLabel(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "" : String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** Place labels on the machines nearest the orbit target (all of them in a small plant). */
function placeLabels() {
  const o = app.layout.objects;
  const conveyorShape = app.layout.shapes.indexOf("conveyor");
  if (!labelPool.length) return;
  const rect = $("view").getBoundingClientRect();
  let rows;
  {
    // Nearest the camera first: those win when labels would overlap.
    const c = app.view.camera.position;
    const t = app.view.controls.target;
    const d = new Float64Array(o.count);
    const machineFirst = (i) => (o.machine[i] && o.shape[i] !== conveyorShape ? 0 : 1e9);
    for (let i = 0; i < o.count; i++) d[i] = (o.x[i] - t.x) ** 2 + (o.z[i] - t.z) ** 2 + (o.x[i] - c.x) ** 2 + (o.z[i] - c.z) ** 2 + machineFirst(i);
    rows = Array.from(d.keys()).sort((a, b) => d[a] - d[b]).slice(0, labelPool.length);
  }
  const src = app.mode === "live" ? app.liveVal : null;
  const placed = []; // screen boxes of labels already shown: nearer labels win, the rest hide
  labelPool.forEach((l, k) => {
    const i = rows[k];
    if (i === undefined || !app.view.project(o.x[i], o.y[i] + o.h[i] + 0.3, o.z[i], _v)) {
      l.el.hidden = true;
      return;
    }
    const sid = app.labelSid[i];
    const m = sid >= 0 ? app.meta[sid] : null;
    const v = sid >= 0 ? (src ? src[sid] : app.pastLabel?.[sid]) : undefined;
    const text = m && v !== undefined && v !== null ? `${o.name[i]} · ${fmtLabel(v)}${m.unit ? " " + m.unit : ""}` : o.name[i];
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
}

// -- frame loop ------------------------------------------------------------------------------
let lastLabels = 0;
function frame(now) {
  requestAnimationFrame(frame);
  if (!app.view) return;
  if (app.alarms.size) {
    // Alarms pulse: the colour breathes between full and half brightness at about 1.2 Hz.
    const k = 0.6 + 0.4 * Math.sin(now * 0.0075);
    const c = colorOf("down").clone().multiplyScalar(k);
    for (const i of app.alarms) app.view.setColor(i, c);
  }
  const t0 = performance.now();
  const drew = app.view.render(now, app.bench !== null);
  if (drew) {
    app.frames++;
    if (app.bench) {
      app.bench.renderMs.push(performance.now() - t0);
      if (app.bench.last !== null) app.bench.intervals.push(now - app.bench.last);
      app.bench.last = now;
    }
    if (app.firstFullFrame === null && app.snapshotApplied) {
      app.firstFullFrame = performance.now();
      document.body.dataset.ready = "1";
    }
    if (app.labelsDirty || now - lastLabels > 100) {
      placeLabels();
      app.labelsDirty = false;
      lastLabels = now;
    }
  } else if (app.labelsDirty && now - lastLabels > 250) {
    placeLabels();
    app.labelsDirty = false;
    lastLabels = now;
  }
}

// -- banner ----------------------------------------------------------------------------------
let bannerTimer = null;
function banner(text, ms = 0) {
  const b = $("banner");
  clearTimeout(bannerTimer);
  b.hidden = !text;
  if (text) b.textContent = text;
  if (text && ms) bannerTimer = setTimeout(() => (b.hidden = true), ms);
}

// -- test mode -------------------------------------------------------------------------------
// The read-only test and benchmark hook lives in its own chunk (testing.js), loaded only when
// a test sets window.__TWINVERSE_TEST__ before the page runs; production pages never fetch it.
if (/** @type {any} */ (window).__TWINVERSE_TEST__) {
  import("./testing.js").then((m) =>
    m.installTestHooks({ app, instanced: INSTANCED, labelPool, palette }),
  );
}

wireTimeline();
$("search").addEventListener("input", (e) => app.tree?.render(/** @type {HTMLInputElement} */ (e.target).value));
$("fit").onclick = () => app.view?.fit(undefined, true);
boot();
