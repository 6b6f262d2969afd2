// Machine states: the server's one vocabulary (GET /api/states), its colours, legend and alarms.
// The viewer keeps no list of its own: loadStates() fills this module before the first colouring.
import { Color } from "three";
import { getJSON } from "./live.js";

/** Colour of a state the vocabulary does not know (it still gets a legend entry). */
export const UNKNOWN_COLOR = "#c5b8a5";
/** Colour of equipment that reports no state at all (pumps, compressors, …). */
export const EQUIPMENT_COLOR = "#8a99a8";
/** Colour of a machine whose source lost its device (a signal with quality bad: its values are stale). */
export const STALE_COLOR = "#ced4da";
/** Quality of a signal whose value is not current (twinverse.core.quality.Quality.BAD). */
export const BAD = 2;
/** The legend key of "no value received yet": it reads as the state ``off``. */
export const NO_DATA = "off";

/** @typedef {{name: string, code: number, color: string, alarm: boolean, label: string}} StateInfo */
/** @typedef {{states: StateInfo[], aliases: Record<string, string>}} Vocabulary */

/** @type {Record<string, StateInfo>} */
let byName = {};
/** @type {Record<string, string>} */
let aliases = {};
/** @type {string[]} */
let order = [];
/** @type {Map<string, Color>} */
const cache = new Map();

/**
 * Use ``vocabulary`` (the body of GET /api/states).
 * @param {Vocabulary} vocabulary
 */
export function setVocabulary(vocabulary) {
  byName = Object.fromEntries(vocabulary.states.map((s) => [s.name, s]));
  aliases = { ...vocabulary.aliases };
  order = vocabulary.states.map((s) => s.name);
  cache.clear();
}

/** Fetch the vocabulary from the server (with the page's token) and use it. */
export async function loadStates() {
  setVocabulary(/** @type {Vocabulary} */ (await getJSON("/api/states")));
}

/** Legend keys of the known states, in the server's order. */
export function legendKeys() {
  return order.slice();
}

/** @param {string} key @returns {string} the legend text of a key */
export function labelOf(key) {
  return byName[key]?.label ?? key;
}

/** @param {string | null} key @returns {boolean} true for states that need someone (they pulse) */
export function isAlarm(key) {
  return key !== null && byName[key]?.alarm === true;
}

/** Known state names → colour, plus the unknown and equipment colours (for tests and legends). */
export function palette() {
  /** @type {Record<string, string>} */
  const out = Object.fromEntries(order.map((n) => [n, byName[n].color]));
  return { ...out, unknown: UNKNOWN_COLOR, equipment: EQUIPMENT_COLOR, stale: STALE_COLOR };
}

/**
 * The legend key of a displayed state value (a state name, null, or a number for an unknown code).
 * @param {unknown} value
 * @returns {string}
 */
export function stateKey(value) {
  if (value === null || value === undefined) return NO_DATA;
  const name = String(value).toLowerCase();
  if (name in byName) return name;
  if (name in aliases) return aliases[name];
  return `other:${String(value)}`;
}

/**
 * A THREE.Color (linear) for a legend key; unknown keys get the neutral colour.
 * @param {string} key
 */
export function colorOf(key) {
  let c = cache.get(key);
  if (!c) {
    c = new Color(hexOf(key));
    cache.set(key, c);
  }
  return c;
}

/** @param {string} key @returns {string} the sRGB hex colour of a legend key */
export function hexOf(key) {
  return byName[key]?.color ?? UNKNOWN_COLOR;
}
