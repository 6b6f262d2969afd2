// Alarms in the viewer: the alarm list (sortable, filterable, ack/shelve buttons by permission),
// badges over machines with alarms in the 3D scene, and the alarm band in a machine's charts.
//
// Live: the /ws session asks for alarm frames ({"op": "alarms", "follow": true}); every
// frame (the subtree's alarms, or transitions as they are stored) refreshes the list from
// GET /api/alarms, the one source of truth (docs/alarms.md).
import { Vector3 } from "three";
import "./ops.css";
import { getJSON, postJSON } from "./live.js";
import { twinPath } from "./panel.js";
import { $ } from "./state.js";

export const PRIORITY = { urgent: 4, high: 3, medium: 2, low: 1 };
/** States that need someone: shown with a badge. */
const ANNUNCIATED = new Set(["unacknowledged", "acknowledged", "rtn_unacknowledged"]);
const BAND_COLOUR = { urgent: "#f03e3e", high: "#ff6b6b", medium: "#fcc419", low: "#74c0fc" };

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** When an ISO time was, as "5 s ago", "3 min ago", "2 h ago". @param {string | null} iso */
function ago(iso) {
  if (!iso) return "–";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s.toFixed(0)} s ago` : s < 3600 ? `${(s / 60).toFixed(0)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

/**
 * @param {import("./state.js").Viewer} viewer
 * @returns {{refresh: () => Promise<void>, alarms: () => any[], onFrame: (msg: any) => void, band: (twin: string, seconds: number) => Promise<HTMLElement | null>}}
 */
export function startAlarms(viewer) {
  /** @type {Map<string, any>} */
  let alarms = new Map();
  const sort = { key: "priority", dir: -1 };
  const may = { ack: false, shelve: false };
  let plant = null;

  const box = el("section");
  box.id = "alarms";
  box.setAttribute("aria-label", "Alarms");
  box.innerHTML = `<h4>Alarms <span id="alarms-count" class="count">0</span> <span id="alarms-status" class="muted"></span></h4>
    <div class="row"><input id="alarm-filter" type="search" placeholder="Filter alarms…" aria-label="Filter alarms">
    <select id="alarm-priority" aria-label="Priority"><option value="">any</option><option>urgent</option><option>high</option><option>medium</option><option>low</option></select></div>
    <table id="alarm-list"><thead><tr><th data-sort="priority">prio</th><th data-sort="twin">machine</th>
    <th data-sort="rule">alarm</th><th data-sort="state">state</th><th data-sort="changed">since</th><th></th></tr></thead><tbody></tbody></table>`;
  $("sidebar").insertBefore(box, $("people"));
  const badges = el("div");
  badges.id = "alarm-badges";
  $("stage").appendChild(badges);
  const filter = /** @type {HTMLInputElement} */ (box.querySelector("#alarm-filter"));
  const prio = /** @type {HTMLSelectElement} */ (box.querySelector("#alarm-priority"));
  filter.oninput = () => render();
  prio.onchange = () => render();
  for (const th of box.querySelectorAll("th[data-sort]")) {
    /** @type {HTMLElement} */ (th).onclick = () => {
      const k = /** @type {HTMLElement} */ (th).dataset.sort;
      sort.dir = sort.key === k ? -sort.dir : k === "priority" || k === "changed" ? -1 : 1;
      sort.key = k;
      render();
    };
  }

  const value = (a, k) => (k === "priority" ? PRIORITY[a.priority] ?? 0 : k === "changed" ? Date.parse(a.changed ?? 0) || 0 : String(a[k] ?? ""));

  function shown() {
    const q = filter.value.trim().toLowerCase();
    const p = prio.value;
    return [...alarms.values()]
      .filter((a) => (!p || a.priority === p) && (!q || `${a.twin} ${a.rule} ${a.message ?? ""} ${a.state}`.toLowerCase().includes(q)))
      .sort((a, b) => {
        const x = value(a, sort.key);
        const y = value(b, sort.key);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.id.localeCompare(b.id);
      });
  }

  async function act(a, what) {
    const path = `/api/alarms/${twinPath(a.id)}/${what}`;
    try {
      await postJSON(path, what === "shelve" ? { seconds: 600, comment: "shelved from the viewer" } : { comment: "acknowledged from the viewer" });
      await refresh();
    } catch (err) {
      viewer.notify(String(/** @type {Error} */ (err).message ?? err), 5000);
    }
  }

  function render() {
    const tbody = box.querySelector("tbody");
    tbody.textContent = "";
    const list = shown();
    for (const a of list) {
      const tr = el("tr", `prio-${a.priority} st-${a.state}`);
      tr.dataset.alarm = a.id;
      const name = a.twin.slice((plant?.length ?? -1) + 1);
      const msg = a.message ? ` — ${a.message}` : "";
      tr.append(el("td", "prio", a.priority), el("td", null, name), el("td", null, `${a.rule}${msg}`), el("td", "state", a.state.replace("_", " ")), el("td", "since", ago(a.changed)));
      const td = el("td", "actions");
      if (may.ack && (a.state === "unacknowledged" || a.state === "rtn_unacknowledged")) {
        const b = el("button", "ack", "ack");
        b.title = "Acknowledge";
        b.onclick = (ev) => (ev.stopPropagation(), act(a, "ack"));
        td.appendChild(b);
      }
      if (may.shelve && a.state !== "shelved" && a.state !== "out_of_service") {
        const b = el("button", "shelve", "shelve");
        b.title = "Shelve for 10 minutes";
        b.onclick = (ev) => (ev.stopPropagation(), act(a, "shelve"));
        td.appendChild(b);
      }
      tr.appendChild(td);
      tr.onclick = () => {
        const i = viewer.index.get(a.twin);
        if (i !== undefined) {
          viewer.select(i);
          viewer.view.flyTo(i);
        }
      };
      tbody.appendChild(tr);
    }
    $("alarms-count").textContent = String(list.length);
    box.dataset.count = String(alarms.size);
    viewer.labelsDirty = true;
  }

  let pending = null;
  async function refresh() {
    if (!plant) return;
    try {
      const body = await getJSON(`/api/alarms?twin=${encodeURIComponent(plant)}`);
      alarms = new Map(body.items.map((a) => [a.id, a]));
      $("alarms-status").textContent = "";
      render();
      placeBadges();
    } catch (err) {
      $("alarms-status").textContent = /** @type {any} */ (err).status === 401 ? "" : "unavailable";
    }
  }
  /** An alarm frame from the websocket: refresh soon (frames of one batch arrive together). */
  function onFrame(_msg) {
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  }

  // -- badges over machines ------------------------------------------------------------------
  /** @type {Map<string, HTMLElement>} */
  const badgeOf = new Map();
  const _v = new Vector3();
  function placeBadges() {
    if (!viewer.view || !viewer.layout) return;
    /** @type {Map<string, any[]>} */
    const byTwin = new Map();
    for (const a of alarms.values()) {
      if (!ANNUNCIATED.has(a.state) || !viewer.index.has(a.twin)) continue;
      if (!byTwin.has(a.twin)) byTwin.set(a.twin, []);
      byTwin.get(a.twin).push(a);
    }
    for (const [twin, b] of badgeOf) {
      if (!byTwin.has(twin)) {
        b.remove();
        badgeOf.delete(twin);
      }
    }
    const o = viewer.layout.objects;
    const rect = $("view").getBoundingClientRect();
    for (const [twin, list] of byTwin) {
      let b = badgeOf.get(twin);
      if (!b) {
        b = el("div", "alarm-badge");
        b.dataset.twin = twin;
        badges.appendChild(b);
        badgeOf.set(twin, b);
      }
      const top = list.reduce((m, a) => (PRIORITY[a.priority] > PRIORITY[m.priority] ? a : m), list[0]);
      const unacked = list.some((a) => a.state !== "acknowledged");
      b.className = `alarm-badge prio-${top.priority}${unacked ? " unacked" : ""}`;
      b.textContent = `⚠ ${list.length}`;
      b.title = list.map((a) => `${a.rule}: ${a.state}`).join("\n");
      const i = viewer.index.get(twin);
      if (!viewer.view.project(o.x[i], o.y[i] + o.h[i] + 1.2, o.z[i], _v)) {
        b.hidden = true;
        continue;
      }
      b.hidden = false;
      b.style.transform = `translate(-50%, -100%) translate(${((_v.x + 1) / 2) * rect.width}px, ${((1 - _v.y) / 2) * rect.height}px)`;
    }
  }
  let last = 0;
  viewer.signals.frameRendered.add((now, drew) => {
    if (drew && now - last > 100 && badgeOf.size) {
      placeBadges();
      last = now;
    }
  });

  // -- the alarm band in a machine's charts -----------------------------------------------------
  /** Intervals when the twin's alarms were active over the last `seconds`, drawn as a band. */
  async function band(twin, seconds) {
    const t1 = Date.now();
    const t0 = t1 - seconds * 1000;
    let events;
    try {
      ({ events } = await getJSON(`/api/alarms/events?twin=${encodeURIComponent(twin)}&since=${new Date(t0 - 86400e3).toISOString()}&limit=10000`));
    } catch (_) {
      return null;
    }
    /** @type {Map<string, number>} */
    const open = new Map();
    /** @type {Array<[number, number, string, string]>} */
    const spans = [];
    const prioOf = new Map([...alarms.values()].map((a) => [a.id, a.priority]));
    for (const e of [...events].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))) {
      const t = Date.parse(e.ts);
      if (e.event === "raise" && !open.has(e.alarm)) open.set(e.alarm, t);
      else if (e.event === "clear" && open.has(e.alarm)) {
        spans.push([open.get(e.alarm), t, e.alarm, e.priority ?? prioOf.get(e.alarm) ?? "medium"]);
        open.delete(e.alarm);
      }
    }
    for (const [id, t] of open) spans.push([t, t1, id, prioOf.get(id) ?? "medium"]);
    const wrap = el("div", "alarm-band");
    wrap.dataset.spans = String(spans.filter(([, b]) => b >= t0).length);
    wrap.appendChild(el("div", "chart-title", "alarms"));
    const canvas = el("canvas");
    canvas.width = 600;
    canvas.height = 10;
    const g = canvas.getContext("2d");
    g.fillStyle = "#333";
    g.fillRect(0, 0, canvas.width, canvas.height);
    const x = (t) => Math.max(0, Math.min(canvas.width, ((t - t0) / (t1 - t0)) * canvas.width));
    for (const [a, b, , p] of spans) {
      if (b < t0) continue;
      g.fillStyle = BAND_COLOUR[p] ?? BAND_COLOUR.medium;
      g.fillRect(x(a), 0, Math.max(2, x(b) - x(a)), canvas.height);
    }
    canvas.title = spans.map(([a, b, id]) => `${id}: ${new Date(a).toLocaleTimeString()}–${new Date(b).toLocaleTimeString()}`).join("\n");
    wrap.appendChild(canvas);
    return wrap;
  }

  viewer.signals.layoutBuilt.add(async (layout) => {
    plant = layout.plant.id;
    try {
      const me = await getJSON("/api/me");
      const p = new Set(me.permissions ?? []);
      may.ack = p.has("*") || p.has("alarm:ack");
      may.shelve = p.has("*") || p.has("alarm:shelve");
    } catch (_) {
      may.ack = may.shelve = false;
    }
    box.dataset.mayAck = String(may.ack);
    await refresh();
  });
  setInterval(() => {
    if (alarms.size) render(); // "since" ages
  }, 10000);
  setInterval(refresh, 30000); // a safety net if frames are missed

  return { refresh, alarms: () => [...alarms.values()], onFrame, band };
}
