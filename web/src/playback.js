// Playback of simulated runs in the 3D scene: the what-if's baseline in the main view and its
// scenario beside it (a second view of the same layout, camera kept in step), machines
// coloured by their simulated state and conveyors by how full their buffer is, through the
// time slider (timeline.js reads `viewer.sim` in mode "sim"). Each run's bottleneck carries
// a red ring. The runs come from the what-if panel (`simRunsDone`), each with a `playback`
// section: states sampled every `every` model time units (twinverse/sim/playback.py).
import * as THREE from "three";
import { applyModels } from "./models.js";
import { Scene3D } from "./scene3d.js";
import { $ } from "./state.js";
import { EQUIPMENT_COLOR, colorOf } from "./states.js";

const EMPTY = new THREE.Color("#1c3d5a");
const FULL = new THREE.Color("#74c0fc");

/** @param {import("./state.js").Viewer} viewer */
export function startPlayback(viewer) {
  /** What the playback shows (read by the test hook). */
  const state = { ready: false, active: false, at: 0, index: 0, duration: 0, timeUnit: "s",
                  shown: { baseline: {}, scenario: {} }, levels: { baseline: {}, scenario: {} },
                  bottleneck: { baseline: null, scenario: null }, /** @type {any} */ sideColor: null };  // prettier-ignore
  /** @type {any} */
  let runs = null;
  /** The scenario's view beside the main one. @type {Scene3D | null} */
  let side = null;
  const rings = [];

  viewer.signals.simRunsDone.add((done) => {
    runs = done;
    state.ready = !!(done.baseline.playback && done.scenario.playback);
    $("wi-play").hidden = !state.ready;
    if (state.active) stop();
  });

  /** Twin ids of the simulation's stations and buffers. */
  function twinOf(id) {
    return runs.elements[id] ?? null;
  }

  function ring(view, twin) {
    const i = twin ? viewer.index.get(twin) : undefined;
    if (i === undefined) return;
    const o = viewer.layout.objects;
    const m = new THREE.Mesh(new THREE.TorusGeometry(Math.max(o.w[i], o.d[i]) * 0.7, 0.12, 8, 32),
                             new THREE.MeshBasicMaterial({ color: 0xff4d4f }));  // prettier-ignore
    m.rotation.x = Math.PI / 2;
    m.position.set(o.x[i], o.y[i] + o.h[i] + 0.2, o.z[i]);
    m.userData.simBottleneck = twin;
    view.scene.add(m);
    rings.push(m);
  }

  function start() {
    if (!state.ready || !viewer.view) return;
    state.active = true;
    state.timeUnit = runs.timeUnit;
    const pb = runs.baseline.playback;
    state.duration = pb.t.at(-1) ?? 0;
    document.body.classList.add("sim");
    $("whatif").hidden = true; // the runs need the room; the panel keeps its figures for later
    $("sim-side").hidden = false;
    side?.dispose();
    side = new Scene3D($("sim-side-view"), viewer.layout, { instanced: true });
    const grey = new THREE.Color(EQUIPMENT_COLOR);
    for (let i = 0; i < viewer.layout.objects.count; i++) side.setColor(i, grey);
    const view = side;
    applyModels(side, viewer.layout).then(() => view === side && state.active && seek(state.at));
    for (const which of ["baseline", "scenario"]) {
      state.bottleneck[which] = twinOf(runs[which].bottleneck.station);
      ring(which === "baseline" ? viewer.view : side, state.bottleneck[which]);
    }
    viewer.sim = { duration: state.duration, timeUnit: state.timeUnit, seek };
    viewer.setMode("sim");
    side.fit();
    seek(0);
  }

  function stop() {
    state.active = false;
    for (const m of rings.splice(0)) m.removeFromParent();
    side?.dispose();
    side = null;
    $("sim-side").hidden = true;
    document.body.classList.remove("sim");
    viewer.sim = null;
    if (viewer.mode === "sim") viewer.setMode("live");
  }

  /** Show model time `t` (clamped to the runs): the sample at or before it. @param {number} t */
  function seek(t) {
    if (!state.active) return;
    const pb = runs.baseline.playback;
    const k = Math.max(0, Math.min(pb.t.length - 1, Math.floor(t / pb.every + 1e-9)));
    state.at = Math.max(0, Math.min(t, state.duration));
    state.index = k;
    paint("baseline", viewer.view, k);
    paint("scenario", side, k);
    $("sim-side-time").textContent = `t = ${fmtTime(pb.t[k])}`;
    $("tl-time").textContent = `simulated ${fmtTime(pb.t[k])} / ${fmtTime(state.duration)}`;
  }

  function paint(which, view, k) {
    const run = runs[which];
    const pb = run.playback;
    const kk = Math.min(k, pb.t.length - 1);
    const shown = (state.shown[which] = {});
    const levels = (state.levels[which] = {});
    for (const [id, states] of Object.entries(pb.stations)) {
      const twin = twinOf(id);
      const i = twin ? viewer.index.get(twin) : undefined;
      if (i === undefined) continue;
      shown[twin] = states[kk];
      view.setColor(i, colorOf(states[kk]));
    }
    for (const [id, values] of Object.entries(pb.buffers)) {
      const twin = twinOf(id);
      const i = twin ? viewer.index.get(twin) : undefined;
      if (i === undefined) continue;
      const cap = runs.capacity[which][id] ?? Math.max(1, ...values);
      const f = Math.max(0, Math.min(1, values[kk] / (cap || 1)));
      levels[twin] = values[kk];
      view.setColor(i, EMPTY.clone().lerp(FULL, f));
    }
    view.dirty = true;
  }

  function fmtTime(t) {
    if (state.timeUnit !== "s") return `${t.toFixed(0)} ${state.timeUnit}`;
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    const s = Math.floor(t % 60);
    return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  }

  viewer.signals.modeChanged.add((mode) => {
    if (mode !== "sim" && state.active) stop();
  });
  viewer.signals.layoutBuilt.add(() => {
    if (state.active) stop();
  });
  // The scenario's view follows the main camera: the two runs are seen from the same place.
  viewer.signals.frameRendered.add((now) => {
    if (!side || !viewer.view) return;
    const a = viewer.view.camera;
    if (!side.camera.position.equals(a.position) || !side.controls.target.equals(viewer.view.controls.target)) {
      side.camera.position.copy(a.position);
      side.controls.target.copy(viewer.view.controls.target);
      side.camera.lookAt(side.controls.target);
      side.dirty = true;
    }
    side.render(now);
  });
  /** The colour the scenario's view draws a twin with ("#rrggbb"), for the test hook. @param {string} twin */
  state.sideColor = (twin) => side?.colorHex(viewer.index.get(twin) ?? -1) ?? null;
  $("wi-play").onclick = start;
  $("sim-close").onclick = stop;
  return state;
}
