// twinverse 3D viewer: a composition of modules around one state object (state.js).
// main.js boots (layout + state vocabulary), builds the scene, applies live and past values,
// and drives the frame loop; legend, labels, time line and selection are modules that
// subscribe to the viewer's signals and never call each other.
import "./style.css";
import { Color } from "three";
import { startAlarms } from "./alarms.js";
import { startAvatars } from "./avatars.js";
import { startCollab } from "./collab.js";
import { startEditor } from "./editor.js";
import { applyI18n, languageSwitch, pickLang, setLang } from "./i18n.js";
import { startKpis } from "./kpis.js";
import { startLabels } from "./labels.js";
import { startLegend } from "./legend.js";
import { startModels } from "./models.js";
import { LiveConnection, getJSON } from "./live.js";
import { DetailsPanel } from "./panel.js";
import { Scene3D } from "./scene3d.js";
import { startSelection } from "./selection.js";
import { $, Viewer } from "./state.js";
import { BAD, EQUIPMENT_COLOR, NO_DATA, STALE_COLOR, colorOf, isAlarm, loadStates, palette, stateKey } from "./states.js";
import { startTimeline } from "./timeline.js";
import { startNotes } from "./notes.js";
import { startPeople } from "./people.js";
import { startPlayback } from "./playback.js";
import { PlantTree } from "./tree.js";
import { startWhatIf } from "./whatif.js";
import { startXR } from "./xr.js";

const params = new URLSearchParams(location.search);
const INSTANCED = params.get("render") !== "meshes";
const MAX_LABELS = Number(params.get("labels") ?? 48);
/** Signals shown on a machine's label, first found wins. */
const LABEL_SIGNALS = ["speed", "level", "power", "temperature", "pressure"];

const viewer = new Viewer();

// -- boot ------------------------------------------------------------------------------------
/** Keep trying ``load`` (a server starting up, a token still missing), saying why on the banner. */
async function retrying(load) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await load();
    } catch (err) {
      viewer.notify(`Cannot load the plant: ${err.message}; retrying…`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
}

async function boot() {
  const [layout] = await Promise.all([retrying(() => getJSON("/api/scene")), retrying(loadStates)]);
  build(layout);
  connect(layout);
  requestAnimationFrame(frame);
  viewer.collab = await startCollab(viewer, layout.plant.id);
}

function connect(layout) {
  viewer.conn?.stop();
  const onAlarms = (msg) => viewer.signals.alarmFrame.dispatch(msg);
  viewer.conn = new LiveConnection(layout.plant.id, {
    onSnapshot,
    onDelta,
    onStatus,
    onAlarms,
    onModel: (msg) => viewer.signals.modelChanged.dispatch(msg.version),
  });
  viewer.conn.start();
}

function build(layout) {
  viewer.layout = layout;
  const o = layout.objects;
  document.title = `twinverse — ${layout.plant.name}`;
  $("plant-name").textContent = layout.plant.name;
  viewer.index = new Map(o.id.map((id, i) => [id, i]));
  if (viewer.view) viewer.view.dispose();
  viewer.view = new Scene3D($("view"), layout, { instanced: INSTANCED });
  viewer.shown = new Array(o.count).fill(null);
  viewer.keyOf = new Array(o.count).fill(NO_DATA);
  viewer.labelSid = new Int32Array(o.count).fill(-1);
  viewer.alarms.clear();
  viewer.liveQ = [];
  viewer.badCount.clear();
  viewer.stale.clear();
  const equipment = new Color(EQUIPMENT_COLOR);
  for (let i = 0; i < o.count; i++) {
    if (o.machine[i]) viewer.view.setColor(i, colorOf(NO_DATA));
    else {
      viewer.view.setColor(i, equipment);
      viewer.keyOf[i] = null;
    }
  }
  $("empty").hidden = o.count > 0;
  viewer.view.fit();
  viewer.tree = new PlantTree($("tree"), layout, {
    onPick: (node) => {
      if (node.obj >= 0) {
        viewer.select(node.obj);
        viewer.view.flyTo(node.obj);
      } else {
        const z = layout.zones.find((x) => x.id === node.id);
        if (z) viewer.view.fit({ x0: z.rect[0], z0: z.rect[1], x1: z.rect[2], z1: z.rect[3] }, true);
      }
    },
  });
  if (!viewer.panel) {
    viewer.panel = new DetailsPanel($("panel"), { onClose: () => viewer.select(-1, false) });
    viewer.panel.bands.push(alarms.band);
  }
  viewer.signals.layoutBuilt.dispatch(layout);
}

// -- live data -------------------------------------------------------------------------------
function onStatus({ connected, retryIn }) {
  const st = $("status");
  st.textContent = connected ? "live" : "disconnected";
  st.className = `status ${connected ? "connected" : "disconnected"}`;
  if (connected) {
    viewer.notify(null);
    recheckLayout();
  } else {
    viewer.notify(`Disconnected from the server — reconnecting in ${(retryIn / 1000).toFixed(1)} s…`);
  }
}

// A new model version runs: its layout replaces this one (signals keep their sids, history stays).
viewer.signals.modelChanged.add(() => recheckLayout(true));

/** After a reconnect (or a new model version): if the server now serves another plant or layout, rebuild. */
async function recheckLayout(resubscribe = false) {
  if (!viewer.snapshotApplied) return;
  try {
    const layout = await getJSON("/api/scene");
    if (layout.version !== viewer.layout.version) {
      viewer.select(-1);
      build(layout);
      connect(layout);
    } else if (resubscribe) {
      connect(layout); // same layout, maybe new signals: a new snapshot describes them
    }
  } catch (_) {
    /* the connection status reports trouble */
  }
}

function onSnapshot(msg) {
  for (const s of msg.signals) {
    const obj = viewer.index.get(s.twin) ?? -1;
    viewer.meta[s.sid] = { obj, twin: s.twin, signal: s.signal, kind: s.kind, states: s.states, unit: s.unit };
    let m = viewer.sidsOf.get(s.twin);
    if (!m) viewer.sidsOf.set(s.twin, (m = {}));
    m[s.signal] = s.sid;
  }
  for (const [twin, sigs] of viewer.sidsOf) {
    const obj = viewer.index.get(twin);
    if (obj === undefined) continue;
    const name = LABEL_SIGNALS.find((n) => n in sigs);
    viewer.labelSid[obj] = name ? sigs[name] : -1;
  }
  applyLive(msg);
  viewer.snapshotApplied = true;
  viewer.view.dirty = true;
}

function onDelta(msg) {
  const t0 = performance.now();
  viewer.deltas++;
  viewer.lastDeltaAt = t0;
  applyLive(msg);
  if (viewer.bench) viewer.bench.applyMs.push(performance.now() - t0);
}

function applyLive(msg) {
  const { sid, value, ts } = msg;
  const quality = msg.quality ?? [];
  const live = viewer.mode === "live";
  const panel = viewer.panel;
  for (let k = 0; k < sid.length; k++) {
    const s = sid[k];
    viewer.liveVal[s] = value[k];
    viewer.liveTs[s] = ts[k];
    const q = quality[k] ?? 0;
    if ((q === BAD) !== (viewer.liveQ[s] === BAD)) staleness(s, q === BAD);
    viewer.liveQ[s] = q;
    if (live) show(s, value[k]);
    if (viewer.selected >= 0 && panel.twin && viewer.meta[s]?.twin === panel.twin) panel.append(s, value[k], ts[k]);
  }
}

/** Display one value: colour for a state, label text, panel cell. */
function show(sid, value) {
  const m = viewer.meta[sid];
  if (!m) return;
  if (m.obj >= 0) {
    if (m.signal === "state" && m.kind === "state") recolour(m.obj, value);
    if (viewer.labelSid[m.obj] === sid) viewer.labelsDirty = true;
  }
  if (viewer.panel?.twin === m.twin) viewer.panel.setValue(sid, value);
}

const STALE = new Color(STALE_COLOR);

/** A signal turned bad (its source lost the device) or good again: grey its machine while any is bad. */
function staleness(sid, bad) {
  const obj = viewer.meta[sid]?.obj ?? -1;
  if (obj < 0) return;
  const n = (viewer.badCount.get(obj) ?? 0) + (bad ? 1 : -1);
  if (n > 0) viewer.badCount.set(obj, n);
  else viewer.badCount.delete(obj);
  const was = viewer.stale.has(obj);
  if ((n > 0) === was) return;
  if (n > 0) viewer.stale.add(obj);
  else viewer.stale.delete(obj);
  paint(obj);
}

/** Set an object's colour from its state key, grey while stale (live mode only). */
function paint(i) {
  const key = viewer.keyOf[i];
  if (viewer.stale.has(i) && viewer.mode === "live") viewer.view.setColor(i, STALE);
  else viewer.view.setColor(i, key === null ? new Color(EQUIPMENT_COLOR) : colorOf(key));
  viewer.view.dirty = true;
}

function recolour(i, value) {
  const key = stateKey(value);
  viewer.shown[i] = value;
  if (viewer.keyOf[i] === key) return;
  viewer.keyOf[i] = key;
  if (key.startsWith("other:") && !viewer.unknown.has(key)) {
    viewer.unknown.add(key);
    viewer.signals.unknownState.dispatch(key);
  }
  if (isAlarm(key)) viewer.alarms.add(i);
  else viewer.alarms.delete(i);
  paint(i);
}

// Back to live: every signal shows its newest live value again.
viewer.signals.modeChanged.add((mode) => {
  for (const i of viewer.stale) paint(i); // greyed in live mode only: the past shows its own colours
  if (mode !== "live") return;
  for (let s = 0; s < viewer.meta.length; s++) if (viewer.meta[s]) show(s, viewer.liveVal[s] ?? null);
});
viewer.signals.pastValues.add((snap) => {
  for (let k = 0; k < snap.sid.length; k++) show(snap.sid[k], snap.value[k]);
});
// A machine's panel opened live: fill it with the newest values.
viewer.signals.detailsOpened.add((id) => {
  if (viewer.mode !== "live") return;
  for (const s of Object.values(viewer.sidsOf.get(id) ?? {})) viewer.panel.setValue(s, viewer.liveVal[s] ?? null);
});

// -- frame loop ------------------------------------------------------------------------------
function frame(now) {
  // In a headset the XR session drives the frames (xr.js); the window's own stop meanwhile.
  if (!viewer.xrPresenting) requestAnimationFrame(frame);
  if (!viewer.view) return;
  if (viewer.alarms.size) {
    // Alarms pulse: the colour breathes between full and half brightness at about 1.2 Hz.
    const k = 0.6 + 0.4 * Math.sin(now * 0.0075);
    const c = colorOf("down").clone().multiplyScalar(k);
    for (const i of viewer.alarms) if (!viewer.stale.has(i) || viewer.mode !== "live") viewer.view.setColor(i, c);
  }
  const t0 = performance.now();
  const bench = viewer.bench;
  const drew = viewer.view.render(now, bench !== null || viewer.xrPresenting);
  if (drew) {
    viewer.frames++;
    if (bench) {
      bench.renderMs.push(performance.now() - t0);
      if (bench.last !== null) bench.intervals.push(now - bench.last);
      bench.last = now;
    }
    if (viewer.firstFullFrame === null && viewer.snapshotApplied) {
      viewer.firstFullFrame = performance.now();
      document.body.dataset.ready = "1";
    }
  }
  viewer.signals.frameRendered.dispatch(now, drew);
}

viewer.frame = frame;

// -- banner ----------------------------------------------------------------------------------
let bannerTimer = null;
viewer.signals.notice.add((text, ms) => {
  const b = $("banner");
  clearTimeout(bannerTimer);
  b.hidden = !text;
  if (text) b.textContent = text;
  if (text && ms) bannerTimer = setTimeout(() => (b.hidden = true), ms);
});

// -- composition -----------------------------------------------------------------------------
startLegend(viewer);
const labelPool = startLabels(viewer, MAX_LABELS);
startTimeline(viewer);
startSelection(viewer);
startAvatars(viewer);
startPeople(viewer);
startNotes(viewer);
const whatIf = startWhatIf(viewer);
const alarms = startAlarms(viewer);
viewer.signals.alarmFrame.add(alarms.onFrame);
startKpis(viewer);
const playback = startPlayback(viewer);
const xr = startXR(viewer);
const models = startModels(viewer);
const editor = startEditor(viewer);
$("search").addEventListener("input", (e) => viewer.tree?.render(/** @type {HTMLInputElement} */ (e.target).value));
$("fit").onclick = () => viewer.view?.fit(undefined, true);
// The viewer's fixed labels in the chosen language (i18n.js holds every string); live texts stay as they are.
if (new URLSearchParams(location.search).has("lang") || localStorage.getItem("twinverse.lang")) setLang(pickLang());
applyI18n();
languageSwitch(/** @type {HTMLSelectElement} */ ($("lang")), () => {});

// The read-only test and benchmark hook lives in its own chunk (testing.js), loaded only when
// a test sets window.__TWINVERSE_TEST__ before the page runs; production pages never fetch it.
if (/** @type {any} */ (window).__TWINVERSE_TEST__) {
  import("./testing.js").then((m) => m.installTestHooks({ app: viewer, instanced: INSTANCED, labelPool, palette, whatIf, editor, playback, xr, models }));
}

boot();
