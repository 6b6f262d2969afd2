// The /ws connection: subscribe to the plant, hand snapshots and deltas on, reconnect forever.
//
// Protocol (twinverse/api/routes/ws.py): → {"op": "subscribe", "twin": ID};
// ← {"type": "snapshot", signals: [...], sid, value, ts} then {"type": "delta", sid, value, ts}.

const TOKEN_KEY = "twinverse.token";

/** Where this page's plant is served: "" for the first plant, "/plants/ID" for any plant of a park
 * (the viewer's pages are then under that prefix, and so are its API calls and websockets). */
export const BASE = (location.pathname.match(/^\/plants\/[^/]+/) ?? [""])[0];

/** An absolute API path of this page's plant: BASE + path (other URLs as they are). @param {string} url */
export function apiURL(url) {
  return url.startsWith("/") && !url.startsWith("//") ? BASE + url : url;
}

/** The API token: from ``#token=…`` or ``?token=…`` once (then kept in localStorage and
 * removed from the address bar), else the stored one; null when the server is open. */
export function apiToken() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token") ?? new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    const url = new URL(location.href);
    url.searchParams.delete("token");
    url.hash = "";
    history.replaceState(null, "", url);
  }
  return localStorage.getItem(TOKEN_KEY);
}

export class LiveConnection {
  constructor(twin, { onSnapshot, onDelta, onStatus, onAlarms = null, onModel = null }) {
    this.twin = twin;
    /** Alarm frames ("alarms", "alarm_events") go here when set (asks the server to follow alarms). */
    this.onAlarms = onAlarms;
    /** Called when the server starts serving a new model version. @type {((msg: any) => void) | null} */
    this.onModel = onModel;
    this.onSnapshot = onSnapshot;
    this.onDelta = onDelta;
    this.onStatus = onStatus;
    this.ws = null;
    this.retry = 0;
    this.closed = false;
    this.connected = false;
  }

  start() {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const token = apiToken();
    const query = token ? `?access_token=${encodeURIComponent(token)}` : "";
    const ws = new WebSocket(`${proto}://${location.host}${BASE}/ws${query}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      ws.send(JSON.stringify({ op: "subscribe", twin: this.twin }));
      if (this.onAlarms) ws.send(JSON.stringify({ op: "alarms", follow: true }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "snapshot") {
        this.connected = true;
        this.onStatus({ connected: true });
        this.onSnapshot(msg);
      } else if (msg.type === "delta") {
        this.onDelta(msg);
      } else if (msg.type === "alarms" || msg.type === "alarm_events") {
        this.onAlarms?.(msg);
      } else if (msg.type === "model") {
        this.onModel?.(msg);
      } else if (msg.type === "error") {
        console.warn("twinverse /ws:", msg.detail);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.connected = false;
      // Back off from 0.5 s to 5 s: a restarting server is back within seconds.
      const wait = Math.min(5000, 500 * 2 ** this.retry++);
      this.onStatus({ connected: false, retryIn: wait });
      if (!this.closed) this.timer = setTimeout(() => this.start(), wait);
    };
    ws.onerror = () => {}; // onclose follows and reports
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}

/** POST a JSON body and read the JSON answer (errors as getJSON's). */
export function postJSON(url, body) {
  return getJSON(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

/** fetch() JSON, with the problem+json detail in the error. @param {string} url @param {RequestInit} [init] */
export async function getJSON(url, init = {}) {
  const token = apiToken();
  const headers = { ...(/** @type {Record<string, string>} */ (init.headers ?? {})) };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(apiURL(url), { ...init, headers });
  if (r.status === 401) {
    const err = /** @type {Error & {status?: number}} */ (new Error(
      "this server needs an API token: open the page as /#token=YOUR_TOKEN " +
        "(the server writes an admin token to its data directory, admin.token)",
    ));
    err.status = 401;
    throw err;
  }
  if (!r.ok) {
    let detail = r.statusText;
    let problem = null;
    try {
      problem = await r.json();
      detail = problem.detail ?? detail;
    } catch (_) {
      /* not JSON */
    }
    const err = /** @type {Error & {status?: number, problem?: any}} */ (new Error(`${url}: ${r.status} ${detail}`));
    err.status = r.status;
    err.problem = problem;
    throw err;
  }
  return r.json();
}
