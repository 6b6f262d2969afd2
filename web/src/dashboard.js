// The line dashboard (/static/dashboard.html?line=ID&lang=en|zh-CN): what people look at
// first — OEE and its factors this shift, throughput against the rated one, the line's
// alarms, energy and CO2e per unit — from GET /api/kpis and GET /api/alarms, refreshed every
// 30 s. The address carries the line and the language, so a copied link opens the same view.
// "This shift" is the current period of the plant's shift calendar (the simulation's, epoch
// anchored; 8 h without one).
import "./dashboard.css";
import { getJSON } from "./live.js";
import { STRINGS, applyI18n, currentLang, languageSwitch, pickLang, setLang, t } from "./i18n.js";

const REFRESH_MS = 30_000;
const DEFAULT_SHIFT_S = 8 * 3600;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** What the page shows (read by tests in test mode). */
const state = { line: null, lineName: null, exit: null, shiftStart: null, shiftS: DEFAULT_SHIFT_S, ratedPerH: null,
                oee: null, availability: null, performance: null, quality: null, throughputPerH: null, good: null,
                whPerUnit: null, gPerUnit: null, alarms: [], machines: {}, hourly: [], updated: null, error: null };  // prettier-ignore
/** Per line: machines, their names and rated speeds, the exit machine (found once). @type {Map<string, any>} */
const lines = new Map();

const pct = (/** @type {number | null} */ v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
const num = (/** @type {number | null} */ v, d = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toLocaleString(currentLang(), { maximumFractionDigits: d, minimumFractionDigits: d });
const timeOf = (/** @type {number} */ ms) =>
  new Date(ms).toLocaleTimeString(currentLang(), { hour: "2-digit", minute: "2-digit" });

async function lineInfo(line) {
  if (lines.has(line)) return lines.get(line);
  const twin = await getJSON(`/api/twins/${line}`);
  const kids = await Promise.all(twin.children.map((id) => getJSON(`/api/twins/${id}`)));
  const machines = kids.filter((k) => k.signals.state?.kind === "state");
  const within = new Set(machines.map((m) => m.id));
  // The exit: a machine of the line that feeds no other machine of it (the end of the flow).
  const feedsOn = (m) => m.relationships.some((r) => r.name === "feeds" && r.source === m.id && within.has(r.target));
  const ends = machines.filter((m) => !feedsOn(m) && (m.properties.rated_speed ?? null) !== null);
  const exit = ends.at(-1) ?? machines.at(-1) ?? null;
  const rated = machines.map((m) => Number(m.properties.rated_speed)).filter((v) => Number.isFinite(v) && v > 0);
  const info = {
    name: twin.name,
    names: Object.fromEntries(kids.map((k) => [k.id, k.name])),
    machines: machines.map((m) => m.id),
    exit: exit?.id ?? null,
    // The slowest rating caps the line: rated output per hour (ratings are per minute).
    ratedPerH: rated.length ? Math.min(...rated) * 60 : null,
  };
  lines.set(line, info);
  return info;
}

async function shiftLength() {
  try {
    const model = await getJSON("/api/sim/model");
    return model.calendars?.[0]?.period ? model.calendars[0].period * ({ s: 1, min: 60, h: 3600 }[model.time_unit] ?? 1) : DEFAULT_SHIFT_S;
  } catch (_) {
    return DEFAULT_SHIFT_S; // no simulation section (or no sim:read): an 8-hour shift
  }
}

const kpis = (twin, start, end) =>
  getJSON(`/api/kpis?twin=${encodeURIComponent(twin)}&start=${encodeURIComponent(new Date(start).toISOString())}` +
          `&end=${encodeURIComponent(new Date(end).toISOString())}`);  // prettier-ignore

async function refresh() {
  try {
    const info = await lineInfo(state.line);
    const now = Date.now();
    const shiftMs = state.shiftS * 1000;
    const start = Math.floor(now / shiftMs) * shiftMs;
    const [report, alarms] = await Promise.all([
      kpis(state.line, start, now),
      getJSON(`/api/alarms?twin=${encodeURIComponent(state.line)}`).catch(() => ({ items: [] })),
    ]);
    const hours = [];
    for (let h = start; h < now; h += 3600_000) hours.push([h, Math.min(h + 3600_000, now)]);
    const hourly = info.exit ? await Promise.all(hours.map(([a, b]) => kpis(info.exit, a, b))) : [];
    const total = report.total;
    const exit = info.exit ? report.machines[info.exit] : null;
    const elapsedH = (now - start) / 3600_000;
    Object.assign(state, {
      lineName: info.name, exit: info.exit, shiftStart: start, ratedPerH: info.ratedPerH,
      oee: total.kpis.oee, availability: total.kpis.availability, performance: total.kpis.effectiveness,
      quality: total.kpis.quality_ratio,
      good: exit ? exit.gq : null,
      throughputPerH: exit && elapsedH > 0 ? exit.gq / elapsedH : null,
      whPerUnit: exit && exit.gq > 0 ? (total.energy_kwh * 1000) / exit.gq : null,
      gPerUnit: exit && exit.gq > 0 ? (total.co2e_kg * 1000) / exit.gq : null,
      energyKwh: total.energy_kwh, co2eKg: total.co2e_kg,
      alarms: alarms.items, machines: Object.fromEntries(Object.entries(report.machines).map(([id, m]) => [id, m.kpis.oee])),
      hourly: hourly.map((r, k) => ({ start: hours[k][0], good: r.total.gq })),
      updated: now, error: null,
    });  // prettier-ignore
    render();
  } catch (err) {
    state.error = err.message;
    $("d-error").textContent = t("dash.error", { e: err.message });
    $("d-error").hidden = false;
  }
}

function bar(id, frac) {
  $(id).style.width = `${Math.max(0, Math.min(1, frac ?? 0)) * 100}%`;
}

function render() {
  if (state.updated === null) return;
  const info = lines.get(state.line);
  document.title = `${t("dash.title")} — ${state.lineName ?? ""}`;
  $("d-error").hidden = true;
  $("d-line-name").textContent = state.lineName ?? "";
  $("d-shift").textContent = `${t("dash.shift")} · ${t("dash.since", { t: timeOf(state.shiftStart) })}`;
  $("d-oee").textContent = pct(state.oee);
  $("d-a").textContent = pct(state.availability);
  $("d-p").textContent = pct(state.performance);
  $("d-q").textContent = pct(state.quality);
  bar("d-a-bar", state.availability);
  bar("d-p-bar", state.performance);
  bar("d-q-bar", state.quality);
  $("d-tp").textContent = num(state.throughputPerH);
  $("d-rated").textContent = state.ratedPerH ? t("dash.rated", { n: num(state.ratedPerH) }) : "";
  const share = state.ratedPerH && state.throughputPerH !== null ? state.throughputPerH / state.ratedPerH : null;
  $("d-of-rated").textContent = share === null ? "" : t("dash.of_rated", { p: pct(share) });
  bar("d-tp-bar", share);
  $("d-good").textContent = num(state.good);
  $("d-kwh-unit").textContent = num(state.whPerUnit, 2);
  $("d-co2-unit").textContent = num(state.gPerUnit, 2);
  $("d-energy-total").textContent = t("dash.energy_total", { kwh: num(state.energyKwh, 1), kg: num(state.co2eKg, 1) });
  const ul = $("d-alarms");
  ul.textContent = "";
  $("d-alarm-count").textContent = String(state.alarms.length);
  if (!state.alarms.length) ul.appendChild(Object.assign(document.createElement("li"), { textContent: t("dash.no_alarms"), className: "muted" }));
  for (const a of state.alarms) {
    const li = document.createElement("li");
    li.dataset.alarm = a.id;
    li.appendChild(Object.assign(document.createElement("span"), { className: `prio ${a.priority}`, textContent: t(`dash.priority.${a.priority}`) }));
    li.appendChild(document.createTextNode(`${info?.names[a.twin] ?? a.twin}: ${a.message || a.rule} · ${t(`dash.state.${a.state}`)}`));
    ul.appendChild(li);
  }
  const bars = $("d-machines");
  bars.textContent = "";
  for (const [id, oee] of Object.entries(state.machines)) {
    const li = document.createElement("li");
    li.dataset.twin = id;
    const track = Object.assign(document.createElement("i"), { className: "bar" });
    const fill = document.createElement("i");
    fill.style.width = `${Math.max(0, Math.min(1, oee ?? 0)) * 100}%`;
    track.appendChild(fill);
    li.append(Object.assign(document.createElement("span"), { textContent: info?.names[id] ?? id }), track,
              Object.assign(document.createElement("b"), { textContent: pct(oee) }));  // prettier-ignore
    bars.appendChild(li);
  }
  const cols = $("d-hourly");
  cols.textContent = "";
  const top = Math.max(1, ...state.hourly.map((h) => h.good));
  if (!state.hourly.some((h) => h.good > 0)) cols.appendChild(Object.assign(document.createElement("span"), { textContent: t("dash.no_data") }));
  for (const h of state.hourly) {
    const col = document.createElement("div");
    const fill = document.createElement("i");
    fill.style.height = `${(h.good / top) * 85}%`;
    col.title = `${timeOf(h.start)}: ${num(h.good)}`;
    col.append(Object.assign(document.createElement("span"), { textContent: num(h.good) }), fill,
               Object.assign(document.createElement("span"), { textContent: timeOf(h.start) }));  // prettier-ignore
    cols.appendChild(col);
  }
  $("d-updated").textContent = t("dash.updated", { t: new Date(state.updated).toLocaleTimeString(currentLang()) });
}

async function boot() {
  setLang(pickLang());
  applyI18n();
  languageSwitch(/** @type {HTMLSelectElement} */ ($("d-lang")), render);
  const twins = await getJSON("/api/twins?limit=10000").catch(() => getJSON("/api/twins"));
  const all = twins.items.filter((x) => x.type === "line");
  const asked = new URLSearchParams(location.search).get("line");
  state.line = all.some((l) => l.id === asked) ? asked : (all[0]?.id ?? twins.items[0]?.id ?? null);
  const select = /** @type {HTMLSelectElement} */ ($("d-line"));
  for (const l of all) select.appendChild(Object.assign(document.createElement("option"), { value: l.id, textContent: l.name }));
  select.value = state.line ?? "";
  select.onchange = () => {
    state.line = select.value;
    keepInAddress();
    refresh();
  };
  keepInAddress();
  $("d-share").onclick = async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      $("d-share").textContent = t("dash.copied");
    } catch (_) {
      prompt(t("dash.share"), location.href);
    }
  };
  state.shiftS = await shiftLength();
  await refresh();
  setInterval(refresh, REFRESH_MS);
  if (/** @type {any} */ (window).__TWINVERSE_TEST__) /** @type {any} */ (window).__dashboard = { state, refresh, t, strings: STRINGS };
}

/** The line in the address (the language is kept there by setLang): the link to share. */
function keepInAddress() {
  const url = new URL(location.href);
  if (state.line) url.searchParams.set("line", state.line);
  history.replaceState(null, "", url);
}

boot();
