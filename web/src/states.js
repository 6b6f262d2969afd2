// Machine states: colours, legend entries, and which states count as alarms.
import { Color } from "three";

/** Colours of the states every platform view understands (sRGB hex). */
export const STATE_COLORS = {
  running: "#2f9e44",
  idle: "#fab005",
  starved: "#f76707",
  blocked: "#1c7ed6",
  down: "#e03131",
  setup: "#9c36b5",
  offline: "#495057",
};
/** Colour of a state the viewer does not know (it still gets a legend entry). */
export const UNKNOWN_COLOR = "#c5b8a5";
/** Colour of equipment that reports no state at all (pumps, compressors, …). */
export const EQUIPMENT_COLOR = "#8a99a8";

/** States shown in the legend, in order; ``off`` and "no data" both read as offline. */
export const LEGEND = ["running", "idle", "starved", "blocked", "down", "setup", "offline"];
/** States that pulse: the machine needs someone. */
export const ALARM_STATES = new Set(["down"]);

const ALIASES = { off: "offline", stopped: "offline", fault: "down", error: "down", alarm: "down" };

/** The legend key of a displayed state value (a state name, null, or a number for an unknown code). */
export function stateKey(value) {
  if (value === null || value === undefined) return "offline";
  const name = String(value);
  if (name in STATE_COLORS) return name;
  if (name in ALIASES) return ALIASES[name];
  return `other:${name}`;
}

const cache = new Map();
/** A THREE.Color (linear) for a legend key; unknown keys get the neutral colour. */
export function colorOf(key) {
  let c = cache.get(key);
  if (!c) {
    c = new Color(STATE_COLORS[key] ?? UNKNOWN_COLOR);
    cache.set(key, c);
  }
  return c;
}

export function hexOf(key) {
  return STATE_COLORS[key] ?? UNKNOWN_COLOR;
}
