// The viewer's one state object and its named signals (the three.js editor's pattern):
// modules read the state and subscribe to signals; they never call each other. Whoever changes
// the state dispatches the signal that says so, e.g. select(i) sets `selected`, then dispatches
// `objectSelected`.

/**
 * A named event with listeners, dispatched synchronously in subscription order.
 * @template {any[]} A
 */
export class Signal {
  constructor() {
    /** @type {Array<(...args: A) => void>} */
    this.listeners = [];
  }

  /** @param {(...args: A) => void} fn */
  add(fn) {
    this.listeners.push(fn);
    return () => this.remove(fn);
  }

  /** @param {(...args: A) => void} fn */
  remove(fn) {
    const i = this.listeners.indexOf(fn);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** @param {A} args */
  dispatch(...args) {
    for (const fn of this.listeners.slice()) fn(...args);
  }
}

/** @typedef {{obj: number, twin: string, signal: string, kind: string, states: string[] | null, unit: string | null}} SignalMeta */

/** The viewer's state: the plant's layout, what is shown, the mode, the selection. */
export class Viewer {
  constructor() {
    /** The scene from GET /api/scene (objects as columns). @type {any} */
    this.layout = null;
    /** The 3D view (Scene3D). @type {any} */
    this.view = null;
    /** The details panel. @type {any} */
    this.panel = null;
    /** The plant tree. @type {any} */
    this.tree = null;
    /** The /ws connection. @type {any} */
    this.conn = null;
    /** The shared room (collab.js): presence and notes; null until joined. @type {import("./collab.js").Collab | null} */
    this.collab = null;
    /** The Yjs client id whose camera this page follows, null none. @type {number | null} */
    this.following = null;
    /** Twin id → object row. @type {Map<string, number>} */
    this.index = new Map();
    /** Per sid. @type {SignalMeta[]} */
    this.meta = [];
    /** Twin id → {signal name: sid}. @type {Map<string, Record<string, number>>} */
    this.sidsOf = new Map();
    /** Newest live value and time (epoch ms) per sid. @type {any[]} */
    this.liveVal = [];
    /** @type {Array<number | null>} */
    this.liveTs = [];
    /** Newest quality per sid (0 good, 1 uncertain, 2 bad). @type {number[]} */
    this.liveQ = [];
    /** Object row → how many of its signals are bad now. @type {Map<number, number>} */
    this.badCount = new Map();
    /** Object rows shown greyed: a signal of theirs is bad (its source lost the device). @type {Set<number>} */
    this.stale = new Set();
    /** "live", "past" or "sim" (a simulated run played back). */
    this.mode = "live";
    /** The playback the slider drives in mode "sim": model-time length, unit and seek(t). @type {any} */
    this.sim = null;
    /** True while a WebXR session shows the scene (xr.js); frames then come from the session. */
    this.xrPresenting = false;
    /** The frame function (main.js), for the XR session's animation loop. @type {((now: number) => void) | null} */
    this.frame = null;
    /** The moment shown in past mode (epoch ms). @type {number | null} */
    this.travelAt = null;
    /** Values of the past moment per sid (labels read them). @type {any[]} */
    this.pastLabel = [];
    /** @type {number | null} */
    this.pastAppliedAt = null;
    /** Object row → displayed state value. @type {any[]} */
    this.shown = [];
    /** Object row → legend key (null for equipment without a state). @type {Array<string | null>} */
    this.keyOf = [];
    /** Object row → sid shown on its label (-1 none). */
    this.labelSid = new Int32Array(0);
    /** Rows in an alarm state (they pulse). @type {Set<number>} */
    this.alarms = new Set();
    /** Legend keys of states the vocabulary does not know. @type {Set<string>} */
    this.unknown = new Set();
    /** Selected object row, -1 none. */
    this.selected = -1;
    this.frames = 0;
    /** @type {number | null} */
    this.firstFullFrame = null;
    this.snapshotApplied = false;
    /** Benchmark recording (test mode), null when off. @type {any} */
    this.bench = null;
    this.deltas = 0;
    this.lastDeltaAt = 0;
    this.labelsDirty = false;

    this.signals = {
      /** A layout was built into the view (first load or a changed plant). @type {Signal<[any]>} */
      layoutBuilt: new Signal(),
      /** `selected` changed; `openPanel` false when the panel itself closed. @type {Signal<[number, boolean]>} */
      objectSelected: new Signal(),
      /** `mode` changed ("live" or "past"). @type {Signal<[string]>} */
      modeChanged: new Signal(),
      /** The details panel shows a twin (after `objectSelected`). @type {Signal<[string]>} */
      detailsOpened: new Signal(),
      /** Values of a past moment arrived (an /api/scene/state answer). @type {Signal<[any]>} */
      pastValues: new Signal(),
      /** A state the vocabulary does not know was shown for the first time. @type {Signal<[string]>} */
      unknownState: new Signal(),
      /** A frame was drawn (or skipped: `drew` false). @type {Signal<[number, boolean]>} */
      frameRendered: new Signal(),
      /** A message for the banner (null hides it), shown for `ms` (0: until replaced). @type {Signal<[string | null, number]>} */
      notice: new Signal(),
      /** Who else is in the room changed (joined, left, moved). @type {Signal<[import("./collab.js").Peer[]]>} */
      peersChanged: new Signal(),
      /** The notes changed (here or by someone else). @type {Signal<[import("./collab.js").Note[]]>} */
      notesChanged: new Signal(),
      /** The room connection's status ("connecting", "connected", "disconnected"). @type {Signal<[string]>} */
      collabStatus: new Signal(),
      /** `following` changed. @type {Signal<[number | null]>} */
      followChanged: new Signal(),
      /** A peer asked everyone to come to its view ("bring everyone to me"). @type {Signal<[import("./collab.js").Peer]>} */
      summoned: new Signal(),
      /** An alarm frame arrived on the websocket ({type: "alarms" | "alarm_events", …}). @type {Signal<[any]>} */
      alarmFrame: new Signal(),
      /** The server serves a new model version (saved here or elsewhere): the layout is reloaded. @type {Signal<[number | null]>} */
      modelChanged: new Signal(),
      /** A what-if finished: both results (with playbacks) and what maps them to twins (playback.js). @type {Signal<[any]>} */
      simRunsDone: new Signal(),
    };
  }

  /** Select object row `i` (-1: none): set the state, then tell the modules. */
  select(i, openPanel = true) {
    this.selected = i;
    this.signals.objectSelected.dispatch(i, openPanel);
  }

  /** Switch between "live" and "past". */
  setMode(mode) {
    this.mode = mode;
    if (mode === "live") {
      this.travelAt = null;
      this.pastLabel = [];
    }
    this.signals.modeChanged.dispatch(mode);
  }

  /** Follow a peer's camera (its Yjs client id), or stop (null). @param {number | null} client */
  follow(client) {
    if (this.following === client) return;
    this.following = client;
    this.signals.followChanged.dispatch(client);
  }

  /** Show a message on the banner (null hides it). */
  notify(text, ms = 0) {
    this.signals.notice.dispatch(text, ms);
  }

  /** The object row of a twin id; throws for an unknown id. @param {string} id */
  row(id) {
    const i = this.index.get(id);
    if (i === undefined) throw new Error(`no object ${id}`);
    return i;
  }
}

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** A form control (input or select) by id. @param {string} id */
export const control = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
