// The plain live table (/static/table.html): one row per twin with its signals, fed by /ws.
// It shares the viewer's token handling (live.js): the token from #token=… or the one the
// viewer stored, sent on every fetch and on the websocket, so it works under token auth.
import { LiveConnection, getJSON } from "./live.js";

const rows = new Map();   // twin id -> {tr, cells by signal}
const meta = new Map();   // sid -> signal description

function fmt(v, unit) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") v = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
  return unit ? `${v} ${unit}` : String(v);
}

function row(twin) {
  let r = rows.get(twin);
  if (r) return r;
  const tr = document.createElement("tr");
  tr.innerHTML = `<td class="twin"></td><td class="st"></td><td class="signals"></td><td class="upd"></td>`;
  tr.querySelector(".twin").textContent = twin;
  document.querySelector("#live tbody").appendChild(tr);
  r = { tr, cells: new Map() };
  rows.set(twin, r);
  return r;
}

function apply(msg) {
  for (let i = 0; i < msg.sid.length; i++) {
    const m = meta.get(msg.sid[i]);
    if (!m) continue;
    const r = row(m.twin);
    const v = msg.value[i];
    if (m.signal === "state" && m.kind === "state") {
      const badge = document.createElement("span");
      badge.className = `state ${v ?? ""}`;
      badge.textContent = v ?? "–";
      r.tr.querySelector(".st").replaceChildren(badge);
    } else {
      let cell = r.cells.get(m.signal);
      if (!cell) {
        cell = document.createElement("span");
        r.tr.querySelector(".signals").appendChild(cell);
        r.cells.set(m.signal, cell);
      }
      cell.textContent = `${m.signal}: ${fmt(v, m.unit)}`;
    }
    if (msg.ts[i]) r.tr.querySelector(".upd").textContent = new Date(msg.ts[i]).toLocaleTimeString();
  }
}

/** @param {{connected: boolean}} s */
function onStatus(s) {
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  status.textContent = s.connected ? "live" : "disconnected — retrying";
  status.className = `status ${s.connected ? "connected" : "disconnected"}`;
}

/** @param {any} msg */
function onSnapshot(msg) {
  for (const s of msg.signals) {
    meta.set(s.sid, s);
    row(s.twin);
  }
  apply(msg);
}

getJSON("/api/plant").then(
  (p) => {
    /** @type {HTMLElement} */ (document.getElementById("plant-name")).textContent = p.name;
    document.title = `twinverse — ${p.name}`;
    new LiveConnection(p.id, { onSnapshot, onDelta: apply, onStatus }).start();
  },
  (err) => {
    const status = /** @type {HTMLElement} */ (document.getElementById("status"));
    status.textContent = err.message;
    status.className = "status disconnected";
  },
);
