// Time travel: the slider, span, play/pause and "live" button; past states from /api/scene/state.
import { getJSON } from "./live.js";
import { $, control } from "./state.js";

/** How far before a past moment to look for each signal's last value. */
const LOOKBACK = "6h";
/** @type {Record<string, number>} */
const SPANS = { "15m": 900e3, "1h": 3600e3, "6h": 21600e3, "24h": 86400e3 };

/** @param {import("./state.js").Viewer} viewer */
export function startTimeline(viewer) {
  const travel = { inflight: false, pending: false, /** @type {any} */ timer: null };
  const spanMs = () => SPANS[control("tl-span").value];

  viewer.signals.modeChanged.add((mode) => {
    $("tl-live").classList.toggle("on", mode === "live");
    document.body.classList.toggle("past", mode === "past");
    if (mode === "sim") {
      stopPlay();
      control("tl-slider").value = "0";
    }
    if (mode === "live") {
      control("tl-slider").value = control("tl-slider").max;
      $("tl-time").textContent = "live";
    }
  });

  const stopPlay = () => {
    clearInterval(travel.timer);
    travel.timer = null;
    $("tl-play").textContent = "▶";
    $("tl-play").title = "play";
  };

  const goLive = () => {
    stopPlay();
    viewer.setMode("live");
  };

  /** @param {number} at */
  const travelTo = (at) => {
    if (at >= Date.now()) return goLive();
    if (viewer.mode !== "past") viewer.setMode("past");
    viewer.travelAt = at;
    const frac = 1 - (Date.now() - at) / spanMs();
    control("tl-slider").value = String(Math.round(Math.max(0, frac) * Number(control("tl-slider").max)));
    $("tl-time").textContent = new Date(at).toLocaleString();
    request();
  };

  /** @param {any} snap */
  const apply = (snap) => {
    viewer.pastLabel ??= [];
    for (let k = 0; k < snap.sid.length; k++) viewer.pastLabel[snap.sid[k]] = snap.value[k];
    viewer.pastAppliedAt = snap.at;
    viewer.signals.pastValues.dispatch(snap);
  };

  // One request at a time; a newer moment asked for meanwhile is fetched right after.
  const request = async () => {
    if (travel.inflight) {
      travel.pending = true;
      return;
    }
    travel.inflight = true;
    const at = viewer.travelAt;
    try {
      const iso = new Date(at).toISOString();
      const base = `/api/scene/state?at=${encodeURIComponent(iso)}&lookback=${LOOKBACK}`;
      const snap = await getJSON(base);
      if (viewer.mode === "past" && viewer.travelAt === at) apply(snap);
      const twin = viewer.panel?.twin;
      if (twin && viewer.mode === "past") {
        const full = await getJSON(`${base}&signals=all&within=${encodeURIComponent(twin)}`);
        if (viewer.mode === "past" && viewer.travelAt === at) apply(full);
      }
    } catch (err) {
      viewer.notify(`Time travel failed: ${err.message}`, 4000);
    } finally {
      travel.inflight = false;
      if (travel.pending) {
        travel.pending = false;
        request();
      }
    }
  };

  // The details panel of a machine opened while looking at the past: fetch all its signals then.
  viewer.signals.detailsOpened.add(() => {
    if (viewer.mode === "past") request();
  });

  const slider = control("tl-slider");
  slider.addEventListener("input", () => {
    const frac = Number(slider.value) / Number(slider.max);
    if (viewer.mode === "sim") return viewer.sim?.seek(frac * viewer.sim.duration);
    if (frac >= 1) return goLive();
    travelTo(Date.now() - (1 - frac) * spanMs());
  });
  $("tl-live").onclick = goLive;
  $("tl-play").onclick = () => {
    if (travel.timer) return stopPlay();
    if (viewer.mode === "sim") return playSim();
    if (viewer.mode === "live") travelTo(Date.now() - spanMs());
    $("tl-play").textContent = "⏸";
    $("tl-play").title = "pause";
    const tick = 250;
    travel.timer = setInterval(() => travelTo(viewer.travelAt + tick * Number(control("tl-speed").value)), tick);
  };
  // A simulated run: the slider spans its model time; ▶ advances it `speed` model seconds per second.
  let simAt = 0;
  const playSim = () => {
    const sim = viewer.sim;
    if (!sim) return;
    const perSecond = { s: 1, min: 1 / 60, h: 1 / 3600 }[sim.timeUnit] ?? 1;
    simAt = (Number(slider.value) / Number(slider.max)) * sim.duration;
    if (simAt >= sim.duration) simAt = 0;
    $("tl-play").textContent = "⏸";
    $("tl-play").title = "pause";
    const tick = 100;
    travel.timer = setInterval(() => {
      simAt = Math.min(sim.duration, simAt + (tick / 1000) * perSecond * Number(control("tl-speed").value));
      slider.value = String(Math.round((simAt / (sim.duration || 1)) * Number(slider.max)));
      sim.seek(simAt);
      if (simAt >= sim.duration) stopPlay();
    }, tick);
  };
  control("tl-span").onchange = () => {
    if (viewer.mode === "past") travelTo(Math.max(viewer.travelAt, Date.now() - spanMs()));
  };
  return stopPlay;
}
