// Test mode only: a read-only view of the viewer's state for the browser tests and the
// viewer benchmark, as window.__twinverse. main.js loads this chunk only when the page was
// opened with window.__TWINVERSE_TEST__ set (Playwright's add_init_script), so the
// production bundle carries none of it.

import { $ } from "./state.js";

/**
 * Install window.__twinverse over the viewer's state.
 * @param {{app: any, instanced: boolean, labelPool: any[], palette: () => Record<string, string>, whatIf: any, editor: any,
 *          playback: any, xr: any, models: any}} ctx
 */
export function installTestHooks({ app, instanced, labelPool, palette, whatIf, editor, playback, xr, models }) {
  const INSTANCED = instanced;
  function row(/** @type {string} */ id) {
    const i = app.index.get(id);
    if (i === undefined) throw new Error(`no object ${id}`);
    return i;
  }

  /** @type {any} */ (window).__twinverse = {
    get ready() {
      return app.firstFullFrame !== null;
    },
    get connected() {
      return app.conn?.connected ?? false;
    },
    get version() {
      return app.layout?.version;
    },
    get render() {
      return INSTANCED ? "instanced" : "meshes";
    },
    firstFullFrameMs: () => app.firstFullFrame,
    objects: () => app.layout.objects.id.slice(),
    machines: () => app.layout.objects.id.filter((_, i) => app.layout.objects.machine[i]),
    /** Twin ids of every pickable object, one entry per instance or mesh in the 3D scene. */
    pickables: () =>
      app.view.objectMeshes.flatMap((m) => Array.from(m.userData.objects).filter((i) => i >= 0).map((i) => app.layout.objects.id[i])),
    /** glTF models drawn (types) and those that failed to load (type → reason). */
    models: () => JSON.parse(JSON.stringify(models)),
    /** Colour of a twin's model instance ("#rrggbb"), null when it has none. */
    modelColorOf: (id) => {
      const more = app.view.extra.get(row(id));
      if (!more) return null;
      const c = app.view._color.clone();
      more[0].getColorAt(more[1], c);
      return "#" + c.getHexString();
    },
    drawCalls: () => app.view.renderer.info.render.calls,
    colorOf: (id) => app.view.colorHex(row(id)),
    stateOf: (id) => app.shown[row(id)],
    /** Whether the machine is greyed because a signal of its is bad (its source lost the device). */
    staleOf: (id) => app.stale.has(row(id)),
    legendKeyOf: (id) => app.keyOf[row(id)],
    palette: () => palette(),
    legend: () =>
      [.../** @type {HTMLCollectionOf<HTMLElement>} */ ($("legend-list").children)].map((li) => ({
        key: li.dataset.key,
        text: li.textContent.trim(),
        color: /** @type {HTMLElement} */ (li.querySelector(".swatch")).style.background,
      })),
    screenPoint: (id) => app.view.screenPoint(row(id)),
    pickAt: (x, y) => {
      const i = app.view.pick(x, y);
      return i >= 0 ? app.layout.objects.id[i] : null;
    },
    selected: () => (app.selected >= 0 ? app.layout.objects.id[app.selected] : null),
    panel: () => app.panel?.info() ?? null,
    mode: () => app.mode,
    travelAt: () => app.travelAt,
    pastAppliedAt: () => app.pastAppliedAt ?? null,
    frames: () => app.frames,
    deltas: () => app.deltas,
    labels: () => labelPool.filter((l) => !l.el.hidden).map((l) => l.text),
    /** The what-if panel: status, progress, run ids, compared figures, the marked bottleneck. */
    whatIf: () => JSON.parse(JSON.stringify(whatIf)),
    /** The playback of simulated runs: active, model time, states and levels shown per run, bottlenecks. */
    playback: () => JSON.parse(JSON.stringify(playback)),
    /** Colour of a twin in the scenario's view (the baseline's is colorOf). */
    sideColorOf: (id) => playback.sideColor(id),
    /** WebXR: supported mode, presenting, the machine a controller selected, label texts in the headset. */
    xr: () => JSON.parse(JSON.stringify(xr)),
    xrDevicePoint: (id) => xr.devicePoint(id),
    bottleneckMarks: () => app.view.scene.children.filter((c) => c.userData.bottleneck !== undefined).map((c) => c.userData.bottleneck),
    editor: {
      /** Validation results shown, round trips (ms from the last change to its markers), problems. */
      state: () => ({ open: editor.open, file: editor.file, valid: editor.valid, problems: editor.problems,
                      roundTrips: editor.roundTrips.slice(), error: editor.error, saved: editor.saved,
                      saveError: editor.saveError, diff: editor.diff }),  // prettier-ignore
      text: () => editor.view?.state.doc.toString() ?? null,
      /** Put the cursor right after the first occurrence of `find` (then type with the keyboard). */
      cursorAfter: (find) => {
        const at = editor.view.state.doc.toString().indexOf(find);
        if (at < 0) throw new Error(`not in the text: ${find}`);
        editor.view.focus();
        editor.view.dispatch({ selection: { anchor: at + find.length } });
      },
      /** Twin ids drawn in the preview. */
      previewObjects: () => editor.preview?.layout.objects.id.slice() ?? [],
      /** Lines of the lint markers shown in the gutter. */
      markedLines: () => [...document.querySelectorAll("#editor-cm .cm-lint-marker-error")].length,
    },
    collab: {
      get joined() {
        return !!app.collab?.connected && !!app.collab?.synced;
      },
      me: () => app.collab?.self() ?? null,
      /** Everyone else here: name, role, colour, camera (position and target). */
      peers: () => (app.collab?.peers() ?? []).map((p) => ({ client: p.client, ...p.user, camera: p.camera })),
      /** The names on the "Here now" list, this page first. */
      peopleList: () => [...$("people-list").querySelectorAll(".who")].map((e) => e.textContent),
      /** Names on the avatar labels in the scene (shown ones). */
      avatarLabels: () => [...$("labels").querySelectorAll(".label.avatar")].filter((e) => !(/** @type {HTMLElement} */ (e)).hidden).map((e) => e.textContent),
      /** Twin each visible pointer ray ends on. */
      rays: () => app.view.scene.children.filter((c) => c.userData.ray !== undefined && c.visible).map((c) => c.userData.twin),
      avatarCount: () => app.view.scene.children.filter((c) => c.userData.client !== undefined).length,
      pins: () => app.view.scene.children.filter((c) => c.userData.note !== undefined).map((c) => c.userData.note).sort(),
      notes: () => app.collab?.list() ?? [],
      shownNotes: () => [...$("notes-list").children].map((li) => (/** @type {HTMLElement} */ (li)).dataset.note),
      refusals: () => app.collab?.refusals.slice() ?? [],
      latencies: () => app.collab?.latencies.slice() ?? [],
      following: () => app.following,
      /** This page's camera, to the millimetre (OrbitControls leaves float noise). */
      camera: () => {
        const mm = (/** @type {number[]} */ a) => a.map((v) => Math.round(v * 1000) / 1000);
        return { p: mm(app.view.camera.position.toArray()), t: mm(app.view.controls.target.toArray()) };
      },
      /** Move this page's camera as a user would (the change is shared). */
      moveCamera: (p, t) => {
        app.view.camera.position.fromArray(p);
        app.view.controls.target.fromArray(t);
        app.view.controls.update();
      },
      /** Write to the shared map directly, past the form (what a crafted client could do). */
      forceNote: (twin, text) => app.collab.addNote(twin, text),
      setOnline: (on) => app.collab.setOnline(on),
    },
    bench: {
      /** Draw every animation frame and record frame intervals until stop(). */
      start() {
        app.bench = { intervals: [], renderMs: [], applyMs: [], last: null, deltas0: app.deltas };
      },
      stop() {
        const b = app.bench;
        app.bench = null;
        const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
        const sorted = b.intervals.slice().sort((x, y) => x - y);
        return {
          frames: b.intervals.length,
          meanFrameMs: mean(b.intervals),
          p95FrameMs: sorted.length ? sorted[Math.floor(sorted.length * 0.95)] : null,
          meanRenderCallMs: mean(b.renderMs),
          meanApplyDeltaMs: mean(b.applyMs),
          deltas: app.deltas - b.deltas0,
        };
      },
    },
  };
}
