// "Here now": everyone in the plant's shared room (name, role, colour) with a Follow button.
import { $ } from "./state.js";

/** @param {import("./state.js").Viewer} viewer */
export function startPeople(viewer) {
  const list = $("people-list");
  /** @type {import("./collab.js").Peer[]} */
  let peers = [];

  function render() {
    list.textContent = "";
    const me = viewer.collab?.self();
    if (me) list.appendChild(row(me.name, me.role, me.colour, "you", null));
    for (const p of peers) list.appendChild(row(p.user.name, p.user.role, p.user.colour, null, p.client));
    $("people-count").textContent = String(peers.length + (me ? 1 : 0));
  }

  function row(name, role, colour, tag, client) {
    const li = document.createElement("li");
    if (client !== null) li.dataset.client = String(client);
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = tag ? `${name} (${tag})` : name;
    const r = document.createElement("span");
    r.className = "role";
    r.textContent = role;
    li.append(sw, who, r);
    if (client !== null) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "follow";
      const on = viewer.following === client;
      b.textContent = on ? "Following" : "Follow";
      b.classList.toggle("on", on);
      b.onclick = () => viewer.follow(on ? null : client);
      li.appendChild(b);
    }
    return li;
  }

  $("summon").onclick = () => viewer.collab?.summon(viewer.view.camera, viewer.view.controls.target);
  viewer.signals.peersChanged.add((p) => {
    peers = p;
    render();
  });
  viewer.signals.followChanged.add(render);
  viewer.signals.collabStatus.add((status) => {
    $("people-status").textContent = status === "connected" ? "" : status;
    render();
  });
}
