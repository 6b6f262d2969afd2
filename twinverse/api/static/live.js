// Plain live table: one row per twin with signals, fed by the /ws websocket.
"use strict";
const rows = new Map();   // twin id -> {tr, cells by signal}
const meta = new Map();   // sid -> signal description
let plantId = null;

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
      r.tr.querySelector(".st").innerHTML = `<span class="state ${v}">${v ?? "–"}</span>`;
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

function connect() {
  const status = document.getElementById("status");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.onopen = () => {
    status.textContent = "live"; status.className = "status connected";
    ws.send(JSON.stringify({ op: "subscribe", twin: plantId }));
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "snapshot") { for (const s of msg.signals) { meta.set(s.sid, s); row(s.twin); } apply(msg); }
    else if (msg.type === "delta") apply(msg);
  };
  ws.onclose = () => {
    status.textContent = "disconnected — retrying"; status.className = "status disconnected";
    setTimeout(connect, 1000);
  };
}

fetch("/api/plant").then((r) => r.json()).then((p) => {
  plantId = p.id;
  document.getElementById("plant-name").textContent = p.name;
  document.title = `twinverse — ${p.name}`;
  connect();
});
