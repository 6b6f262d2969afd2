// The details panel: a machine's properties, live values, commands (commands.js) and charts of its signals.
//
// Charts load from GET /api/twins/{id}/history with interval=auto (the server downsamples
// to about 600 buckets, whatever the range) and then grow with the live values.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { commandsSection } from "./commands.js";
import { getJSON } from "./live.js";
import { hexOf, stateKey } from "./states.js";

export const RANGES = { "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800 };
const MAX_CHARTS = 8;
const LINE = "#74c0fc";

export function twinPath(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function fmt(v, unit) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") v = Number.isInteger(v) ? v.toString() : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${v} ${unit}` : String(v);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class DetailsPanel {
  constructor(root, { onClose }) {
    this.root = root;
    this.onClose = onClose;
    this.range = "1h";
    this.twin = null;
    this.charts = new Map(); // signal -> {plot, xs, ys, sid}
    this.valueCells = new Map(); // sid -> td
    this.timer = setInterval(() => this._flush(), 1000);
    this.loading = 0;
    /** Extra bands under the state band: (twin, seconds) => Promise<HTMLElement | null> (alarms.js). @type {Array<(twin: string, seconds: number) => Promise<HTMLElement | null>>} */
    this.bands = [];
    /** The commands section of the open twin (null when it has no writable signal). @type {{element: HTMLElement, info: () => any[]} | null} */
    this.commands = null;
    /** @type {HTMLElement | null} */
    this.cmdBox = null;
  }

  /** Open for a twin; ``info`` holds {sid, signal} meta of its signals from the snapshot. */
  async open(twin, sidOf) {
    this.twin = twin;
    this.sidOf = sidOf; // signal name -> sid
    const token = ++this.loading;
    this.root.hidden = false;
    this.root.textContent = "";
    this.root.appendChild(el("p", "loading", "loading…"));
    let data;
    try {
      data = await getJSON(`/api/twins/${twinPath(twin)}`);
    } catch (err) {
      if (token !== this.loading) return;
      this.root.textContent = "";
      this.root.appendChild(el("p", "error", String(err.message ?? err)));
      return;
    }
    if (token !== this.loading) return;
    this.data = data;
    this.commands = null;
    this._render();
    commandsSection(twinPath(twin)).then((c) => {
      if (!c || token !== this.loading) return;
      this.commands = c;
      this.cmdBox?.appendChild(c.element);
    });
    await this.loadCharts();
  }

  close() {
    this.twin = null;
    this.loading++;
    this.root.hidden = true;
    this._destroyCharts();
    this.onClose();
  }

  _render() {
    const d = this.data;
    const r = this.root;
    r.textContent = "";
    const head = el("header");
    const h = el("h2", null, d.name);
    h.id = "panel-name";
    const x = el("button", "close", "×");
    x.title = "close";
    x.onclick = () => this.close();
    head.append(h, x);
    r.appendChild(head);
    const meta = el("p", "meta");
    meta.append(el("code", null, d.id), ` · ${d.type}`);
    this.stateBadge = el("span", "badge");
    meta.append(" ", this.stateBadge);
    r.appendChild(meta);

    const props = Object.entries(d.properties ?? {});
    if (props.length) {
      r.appendChild(el("h3", null, "Properties"));
      const t = el("table", "kv");
      for (const [k, v] of props) {
        const tr = el("tr");
        tr.append(el("th", null, k), el("td", null, typeof v === "object" ? JSON.stringify(v) : String(v)));
        t.appendChild(tr);
      }
      r.appendChild(t);
    }

    r.appendChild(el("h3", null, "Values"));
    const t = el("table", "kv values");
    this.valueCells.clear();
    for (const [name, s] of Object.entries(d.signals)) {
      const tr = el("tr");
      const td = el("td");
      tr.append(el("th", null, name), td);
      t.appendChild(tr);
      const sid = this.sidOf[name];
      if (sid !== undefined) this.valueCells.set(sid, { td, unit: s.unit, name });
    }
    r.appendChild(t);
    this.cmdBox = r.appendChild(el("div"));
    for (const lv of d.live ?? []) {
      const sid = this.sidOf[lv.signal];
      if (sid !== undefined) this.setValue(sid, lv.value);
    }

    const rels = (d.relationships ?? []).filter((x) => x.name !== "contains");
    if (rels.length) {
      r.appendChild(el("h3", null, "Relationships"));
      const ul = el("ul", "rels");
      for (const rel of rels) {
        const out = rel.source === d.id;
        ul.appendChild(el("li", null, out ? `${rel.name} → ${rel.target}` : `${rel.source} → ${rel.name} this`));
      }
      r.appendChild(ul);
    }

    const ch = el("h3", null, "History ");
    const sel = el("span", "ranges");
    for (const key of Object.keys(RANGES)) {
      const b = el("button", key === this.range ? "on" : "", key);
      b.dataset.range = key;
      b.onclick = () => {
        this.range = key;
        for (const x of sel.children) x.classList.toggle("on", x.dataset.range === key);
        this.loadCharts();
      };
      sel.appendChild(b);
    }
    ch.appendChild(sel);
    r.appendChild(ch);
    this.chartBox = el("div", "charts");
    r.appendChild(this.chartBox);
  }

  /** Show a value (live, or of the moment the time slider points at). */
  setValue(sid, value) {
    const cell = this.valueCells.get(sid);
    if (!cell) return;
    cell.td.textContent = fmt(value, cell.unit);
    if (cell.name === "state") {
      const key = stateKey(value);
      this.stateBadge.textContent = value ?? "no data";
      this.stateBadge.style.background = hexOf(key);
    }
  }

  /** Append a live point to the chart of ``sid`` (drawn at most once a second). */
  append(sid, value, ts) {
    for (const c of this.charts.values()) {
      if (c.sid !== sid || typeof value !== "number" || ts === null) continue;
      const t = ts / 1000;
      if (c.xs.length && t <= c.xs[c.xs.length - 1]) continue;
      c.xs.push(t);
      c.ys.push(value);
      c.dirty = true;
    }
  }

  _flush() {
    const cutoff = Date.now() / 1000 - RANGES[this.range];
    for (const c of this.charts.values()) {
      if (!c.dirty) continue;
      let k = 0;
      while (k < c.xs.length && c.xs[k] < cutoff) k++;
      if (k) {
        c.xs.splice(0, k);
        c.ys.splice(0, k);
      }
      c.plot.setData([c.xs, c.ys]);
      c.dirty = false;
    }
  }

  _destroyCharts() {
    for (const c of this.charts.values()) c.plot.destroy();
    this.charts.clear();
  }

  async loadCharts() {
    const d = this.data;
    const twin = this.twin;
    const numeric = Object.entries(d.signals)
      .filter(([, s]) => s.kind === "float" || s.kind === "int")
      .slice(0, MAX_CHARTS)
      .map(([n]) => n);
    const hasState = d.signals.state?.kind === "state";
    const start = `-${RANGES[this.range]}s`;
    const q = (names, agg) =>
      `/api/twins/${twinPath(twin)}/history?start=${start}&interval=auto&agg=${agg}&` +
      names.map((n) => `signal=${encodeURIComponent(n)}`).join("&");
    const token = this.loading;
    const [num, st] = await Promise.all([
      numeric.length ? getJSON(q(numeric, "avg")) : { series: [] },
      hasState ? getJSON(q(["state"], "last")) : { series: [] },
    ]).catch((err) => {
      this.chartBox.textContent = String(err.message ?? err);
      return [null, null];
    });
    if (!num || token !== this.loading || twin !== this.twin) return;
    this._destroyCharts();
    this.chartBox.textContent = "";
    if (st.series.length) this.chartBox.appendChild(this._stateBand(st.series[0]));
    const anchor = this.chartBox.appendChild(el("div", "bands"));
    for (const band of this.bands) {
      band(twin, RANGES[this.range]).then((b) => b && token === this.loading && twin === this.twin && anchor.appendChild(b));
    }
    const width = Math.max(240, this.chartBox.clientWidth - 8);
    for (const s of num.series) {
      const box = el("div", "chart");
      box.dataset.signal = s.signal;
      this.chartBox.appendChild(box);
      const xs = s.ts.map((t) => t / 1000);
      const ys = s.value.slice();
      const plot = new uPlot(
        {
          width,
          height: 110,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [
            { stroke: "#aab", grid: { stroke: "#333a" }, ticks: { stroke: "#333" } },
            { stroke: "#aab", grid: { stroke: "#333a" }, ticks: { stroke: "#333" }, size: 46 },
          ],
          series: [{}, { label: s.signal, stroke: LINE, width: 1.5, points: { show: xs.length < 60 } }],
        },
        [xs, ys],
        box,
      );
      const title = el("div", "chart-title", `${s.signal}${s.unit ? ` (${s.unit})` : ""}`);
      box.prepend(title);
      this.charts.set(s.signal, { plot, xs, ys, sid: this.sidOf[s.signal], unit: s.unit });
    }
  }

  _stateBand(series) {
    const wrap = el("div", "state-band");
    wrap.appendChild(el("div", "chart-title", "state"));
    const canvas = el("canvas");
    canvas.width = 600;
    canvas.height = 14;
    const g = canvas.getContext("2d");
    const t1 = Date.now();
    const t0 = t1 - RANGES[this.range] * 1000;
    const x = (t) => ((t - t0) / (t1 - t0)) * canvas.width;
    g.fillStyle = "#333";
    g.fillRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < series.ts.length; i++) {
      const a = x(series.ts[i]);
      const b = i + 1 < series.ts.length ? x(series.ts[i + 1]) : x(t1);
      const v = series.value[i];
      g.fillStyle = hexOf(stateKey(v === null ? null : (series.states?.[Math.round(v)] ?? v)));
      g.fillRect(a, 0, Math.max(1, b - a), canvas.height);
    }
    wrap.appendChild(canvas);
    this.stateSeries = series;
    return wrap;
  }

  /** What the panel shows, for tests. */
  info() {
    if (!this.twin || !this.data) return null;
    return {
      twin: this.twin,
      name: this.data.name,
      range: this.range,
      charts: [...this.charts.entries()].map(([signal, c]) => ({
        signal,
        points: c.xs.length,
        ts: c.xs.map((t) => Math.round(t * 1000)),
        values: c.ys.slice(),
      })),
      commands: this.commands?.info() ?? [],
      states: this.stateSeries
        ? this.stateSeries.value.map((v) => (v === null ? null : (this.stateSeries.states?.[Math.round(v)] ?? v)))
        : [],
    };
  }
}
