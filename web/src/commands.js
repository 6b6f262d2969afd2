// The machine panel's commands: send a setpoint or command to a writable signal of the twin.
//
// The writable signals come from GET /api/twins/{id}/commands (each with the source that would
// write it); POST /api/twins/{id}/commands sends one and answers once the device accepted it.
// The row then says "sent" with the log entry; the Values table above shows the device's
// read-back when it comes, not the request. Sending needs the command:send permission
// (operators and up): without it, or when no source feeds the signal, the row is disabled
// and says why.
import { getJSON, postJSON } from "./live.js";

/** @typedef {{signal: string, kind: string, unit: string | null, range: [number, number] | null, states: string[] | null, source: string | null}} Writable */
/** @typedef {{signal: string, enabled: boolean, why: string, status: string, ok: boolean | null}} RowInfo */

let maySend = /** @type {Promise<boolean> | null} */ (null);

/** Whether the caller holds command:send (asked once per page). */
function canSend() {
  maySend ??= getJSON("/api/me")
    .then((me) => {
      const p = new Set(me.permissions ?? []);
      return p.has("*") || p.has("command:send");
    })
    .catch(() => false);
  return maySend;
}

function el(/** @type {string} */ tag, /** @type {string | null} */ cls, /** @type {string | undefined} */ text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The input a signal's kind asks for: a number (with the range as bounds), true/false, or a state. */
function inputFor(/** @type {Writable} */ w) {
  if (w.kind === "bool" || w.kind === "state") {
    const sel = /** @type {HTMLSelectElement} */ (el("select", null, undefined));
    for (const v of w.kind === "bool" ? ["true", "false"] : (w.states ?? [])) {
      const o = /** @type {HTMLOptionElement} */ (el("option", null, v));
      o.value = v;
      sel.appendChild(o);
    }
    return sel;
  }
  const inp = /** @type {HTMLInputElement} */ (el("input", null, undefined));
  inp.type = "number";
  inp.step = w.kind === "int" ? "1" : "any";
  if (w.range) {
    inp.min = String(w.range[0]);
    inp.max = String(w.range[1]);
  }
  inp.placeholder = w.unit ?? "";
  return inp;
}

/** The value to send from what the input holds. */
function valueOf(/** @type {Writable} */ w, /** @type {string} */ text) {
  if (w.kind === "bool") return text === "true";
  if (w.kind === "state") return text;
  return text.trim() === "" ? NaN : Number(text);
}

/**
 * The commands section of a twin's panel, or null when it has no writable signal.
 * @param {string} path the twin id, encoded for a URL
 * @returns {Promise<{element: HTMLElement, info: () => RowInfo[]} | null>}
 */
export async function commandsSection(path) {
  /** @type {{writable: Writable[]}} */
  let list;
  try {
    list = await getJSON(`/api/twins/${path}/commands`);
  } catch (_) {
    return null; // an older server, or no read permission: no section
  }
  if (!list.writable.length) return null;
  const may = await canSend();
  const box = el("div", "commands", undefined);
  box.appendChild(el("h3", null, "Commands"));
  const table = el("table", "kv", undefined);
  /** @type {RowInfo[]} */
  const rows = [];
  for (const w of list.writable) {
    const info = { signal: w.signal, enabled: may && w.source !== null, why: "", status: "", ok: /** @type {boolean | null} */ (null) };
    if (!may) info.why = "needs the command:send permission (operator)";
    else if (w.source === null) info.why = "no source feeds this signal";
    rows.push(info);
    const tr = el("tr", null, undefined);
    tr.dataset.signal = w.signal;
    const td = el("td", null, undefined);
    const input = inputFor(w);
    const send = /** @type {HTMLButtonElement} */ (el("button", "send", "Send"));
    const status = el("span", "cmd-status", info.why);
    input.disabled = send.disabled = !info.enabled;
    if (info.why) td.title = info.why;
    const go = async () => {
      const value = valueOf(w, input.value);
      if (typeof value === "number" && !Number.isFinite(value)) {
        status.textContent = info.status = "enter a number";
        info.ok = false;
        return;
      }
      send.disabled = true;
      status.textContent = info.status = "sending…";
      info.ok = null;
      try {
        const r = await postJSON(`/api/twins/${path}/commands`, { signal: w.signal, value });
        info.status = `sent ${r.value}${w.unit ? " " + w.unit : ""} via ${r.source} (log #${r.log_index})`;
        info.ok = true;
      } catch (err) {
        const e = /** @type {Error & {problem?: any}} */ (err);
        info.status = e.problem?.detail ?? String(e.message ?? e);
        info.ok = false;
      }
      status.textContent = info.status;
      status.classList.toggle("error", info.ok === false);
      send.disabled = false;
    };
    send.onclick = go;
    input.addEventListener("keydown", (ev) => {
      if (/** @type {KeyboardEvent} */ (ev).key === "Enter") go();
    });
    td.append(input, " ", send, " ", status);
    tr.append(el("th", null, w.unit ? `${w.signal} (${w.unit})` : w.signal), td);
    table.appendChild(tr);
  }
  box.appendChild(table);
  return { element: box, info: () => rows.map((r) => ({ ...r })) };
}
