// The shared scene's connection: a Yjs document (the plant's annotations) and Yjs awareness
// (who is here, where they look), synchronised over /ws/collab/{plant} by y-websocket.
//
// The server (twinverse/api/routes/collab.py) stamps every presence state with the identity
// it authenticated (name, role, colour, canWrite) and refuses changes from viewers with a
// y-protocols "permission denied" frame; on a refusal this page drops its document and
// resynchronises, so what it shows is what the server kept. Offline edits of a writer stay
// in the document and merge when the connection comes back (CRDT).
import * as authProtocol from "y-protocols/auth";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { BASE, apiToken, getJSON } from "./live.js";

const MESSAGE_AUTH = 2;
/** Fewest milliseconds between two camera updates sent (a move after a pause goes at once). */
const CAMERA_EVERY_MS = 100;

/**
 * @typedef {{id: string, name: string, role: string, colour: string, canWrite: boolean}} User
 * @typedef {{p: number[], t: number[], at?: number}} Camera
 * @typedef {{client: number, user: User, camera: Camera | null, pointer: string | null, summon: {at: number, p: number[], t: number[]} | null}} Peer
 * @typedef {{id: string, twin: string, text: string, author: string, author_id: string, created: number,
 *            status: string, resolved_by?: string | null, resolved_at?: number | null}} Note
 */

export class Collab {
  /**
   * @param {any} viewer the Viewer (state.js)
   * @param {string} plant the plant id (the room)
   * @param {User} me how the server shows this page
   */
  constructor(viewer, plant, me) {
    this.viewer = viewer;
    this.plant = plant;
    this.me = me;
    /** Reasons of refused changes, newest last. @type {string[]} */
    this.refusals = [];
    /** Milliseconds from a peer's camera move to its arrival here (test and benchmark reading). @type {number[]} */
    this.latencies = [];
    this._lastSent = 0;
    /** The last camera time seen per peer (so each move is counted once). @type {Map<number, number>} */
    this._seen = new Map();
    /** Summons older than this page, or already obeyed, are ignored. */
    this._summonAfter = Date.now();
    this._pending = null;
    this._open();
  }

  _open() {
    this.doc = new Y.Doc();
    /** @type {Y.Map<Note>} */
    this.notes = this.doc.getMap("annotations");
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const token = apiToken();
    this.provider = new WebsocketProvider(`${proto}://${location.host}${BASE}/ws/collab`, this.plant, this.doc, {
      params: token ? { access_token: token } : {},
      disableBc: true, // another tab's unsaved edits must not bypass the server's checks
      shouldReconnect: (ev) => ev.code !== 1008, // refused at the handshake: retrying cannot help
    });
    this.provider.messageHandlers[MESSAGE_AUTH] = (_enc, decoder) =>
      authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this._refused(reason));
    this.awareness = this.provider.awareness;
    this.awareness.setLocalState({ user: { name: this.me.name }, camera: null });
    this.awareness.on("change", () => this._peersChanged());
    this.notes.observe(() => this.viewer.signals.notesChanged.dispatch(this.list()));
    this.provider.on("status", (/** @type {{status: string}} */ e) => this.viewer.signals.collabStatus.dispatch(e.status));
    this.provider.on("sync", () => this.viewer.signals.notesChanged.dispatch(this.list()));
  }

  get connected() {
    return this.provider.wsconnected;
  }

  get synced() {
    return this.provider.synced;
  }

  /** Everyone else here, with the camera they share. @returns {Peer[]} */
  peers() {
    const out = [];
    for (const [client, state] of this.awareness.getStates()) {
      if (client === this.doc.clientID || !state?.user) continue;
      out.push({ client, user: state.user, camera: state.camera ?? null, pointer: state.pointer ?? null, summon: state.summon ?? null });
    }
    return out.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.client - b.client);
  }

  /** This page's user as the server stamped it (falls back to /api/collab/me before the echo). @returns {User} */
  self() {
    return this.awareness.getLocalState()?.user?.colour ? this.awareness.getLocalState().user : this.me;
  }

  /** Every note, oldest first. @returns {Note[]} */
  list() {
    return [...this.notes.values()].sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  }

  /** Pin a note to a twin (operators; the server checks). @param {string} twin @param {string} text */
  addNote(twin, text) {
    const id = `n-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.notes.set(id, {
      id, twin, text, author: this.me.name, author_id: this.me.id, created: Date.now(), status: "open",
      resolved_by: null, resolved_at: null,
    });
    return id;
  }

  /** Resolve (or reopen) a note. @param {string} id @param {boolean} resolved */
  setResolved(id, resolved) {
    const n = this.notes.get(id);
    if (!n) return;
    this.notes.set(id, {
      ...n, status: resolved ? "resolved" : "open",
      resolved_by: resolved ? this.me.name : null, resolved_at: resolved ? Date.now() : null,
    });
  }

  /** Share this page's camera (position and target, world metres), at most every CAMERA_EVERY_MS. */
  shareCamera(/** @type {any} */ camera, /** @type {any} */ target) {
    const cam = { p: camera.position.toArray().map(round), t: target.toArray().map(round) };
    const wait = this._lastSent + CAMERA_EVERY_MS - performance.now();
    clearTimeout(this._pending);
    const send = () => {
      this._lastSent = performance.now();
      this.awareness.setLocalStateField("camera", { ...cam, at: Date.now() });
    };
    if (wait <= 0) send();
    else this._pending = setTimeout(send, wait);
  }

  /** Point at a twin (null: at nothing); the others draw a ray from this page's figure to it. @param {string | null} twin */
  point(twin) {
    if ((this.awareness.getLocalState()?.pointer ?? null) !== twin) this.awareness.setLocalStateField("pointer", twin);
  }

  /** "Bring everyone to me": the others' cameras jump to this page's view. */
  summon(/** @type {any} */ camera, /** @type {any} */ target) {
    const at = Date.now();
    this._summonAfter = at;
    this.awareness.setLocalStateField("summon", { at, p: camera.position.toArray(), t: target.toArray() });
  }

  /** Go offline (tests: an edit made now merges on reconnect) or back online. @param {boolean} on */
  setOnline(on) {
    if (on) this.provider.connect();
    else this.provider.disconnect();
  }

  _peersChanged() {
    const peers = this.peers();
    const now = Date.now();
    for (const p of peers) {
      const at = p.camera?.at;
      if (at && at !== this._seen.get(p.client)) {
        this._seen.set(p.client, at);
        this.latencies.push(now - at);
        if (this.latencies.length > 1000) this.latencies.shift();
      }
    }
    this.viewer.signals.peersChanged.dispatch(peers);
    const caller = peers.filter((p) => p.summon && p.summon.at > this._summonAfter).sort((a, b) => b.summon.at - a.summon.at)[0];
    if (caller) {
      this._summonAfter = caller.summon.at;
      this.viewer.signals.summoned.dispatch(caller);
    }
  }

  _refused(/** @type {string} */ reason) {
    this.refusals.push(reason);
    this.viewer.notify(`Not saved: ${reason}`, 8000);
    // The server kept its document: drop ours (it holds the refused change) and sync afresh.
    const camera = this.awareness.getLocalState()?.camera ?? null;
    this.provider.destroy();
    this.doc.destroy();
    this._open();
    if (camera) this.awareness.setLocalStateField("camera", camera);
    this.viewer.signals.notesChanged.dispatch(this.list());
  }
}

const round = (/** @type {number} */ v) => Math.round(v * 1000) / 1000;

/** Join the plant's room once the layout is known; null (and a notice) when the server has no room. */
export async function startCollab(viewer, plant) {
  try {
    const me = await getJSON("/api/collab/me");
    return new Collab(viewer, plant, me);
  } catch (err) {
    viewer.notify(`Shared scene unavailable: ${err.message}`, 8000);
    return null;
  }
}
