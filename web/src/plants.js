// The plant picker (/ when the server serves several plants): the plants the caller's tenant
// owns (GET /api/plants), each a link to its own viewer at /plants/{id}/.
import { getJSON } from "./live.js";

/** @param {string} text */
function esc(text) {
  const d = document.createElement("div");
  d.textContent = text;
  return d.innerHTML;
}

async function main() {
  const list = /** @type {HTMLElement} */ (document.getElementById("plants"));
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  try {
    const { items } = await getJSON("/api/plants");
    status.textContent = items.length ? "" : "No plant of your tenant is served here.";
    list.innerHTML = items
      .map(
        (/** @type {any} */ p) =>
          `<li><a href="${esc(p.path)}" data-plant="${esc(p.id)}"><strong>${esc(p.name)}</strong></a> ` +
          `<span class="id">${esc(p.id)}</span> · tenant ${esc(p.tenant)} · ${p.twins} twins, ${p.signals} signals` +
          ` · <a href="${esc(p.path)}static/dashboard.html">dashboard</a></li>`,
      )
      .join("");
  } catch (e) {
    status.textContent = /** @type {Error} */ (e).message;
  }
}

main();
