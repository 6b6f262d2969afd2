// The /ws connection: subscribe to the plant, hand snapshots and deltas on, reconnect forever.
//
// Protocol (twinverse/api/routes/ws.py): → {"op": "subscribe", "twin": ID};
// ← {"type": "snapshot", signals: [...], sid, value, ts} then {"type": "delta", sid, value, ts}.

export class LiveConnection {
  constructor(twin, { onSnapshot, onDelta, onStatus }) {
    this.twin = twin;
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
    const ws = new WebSocket(`${proto}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      ws.send(JSON.stringify({ op: "subscribe", twin: this.twin }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "snapshot") {
        this.connected = true;
        this.onStatus({ connected: true });
        this.onSnapshot(msg);
      } else if (msg.type === "delta") {
        this.onDelta(msg);
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

/** fetch() JSON, with the problem+json detail in the error. */
export async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) {
    let detail = r.statusText;
    try {
      detail = (await r.json()).detail ?? detail;
    } catch (_) {
      /* not JSON */
    }
    throw new Error(`${url}: ${r.status} ${detail}`);
  }
  return r.json();
}
