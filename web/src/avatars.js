// Everyone else's camera as a small figure in the scene: a head where they stand, a cone
// toward what they look at, their colour, and their name on an HTML label. "Follow" moves
// this page's camera with someone's; moving the camera yourself stops following.
import * as THREE from "three";
import { $ } from "./state.js";

/** @typedef {import("./collab.js").Peer} Peer */

/** @param {import("./state.js").Viewer} viewer */
export function startAvatars(viewer) {
  /** client id → {group, label} @type {Map<number, {group: THREE.Group, label: HTMLElement, colour: string}>} */
  const figures = new Map();
  /** @type {Peer[]} */
  let peers = [];
  const head = new THREE.SphereGeometry(0.35, 16, 12);
  const cone = new THREE.ConeGeometry(0.3, 1.2, 16, 1, true);
  cone.rotateX(Math.PI / 2); // the cone points along +z, then lookAt turns it
  cone.translate(0, 0, 0.7);
  const _v = new THREE.Vector3();
  const _t = new THREE.Vector3();

  function figure(/** @type {Peer} */ p) {
    let f = figures.get(p.client);
    if (f && f.colour !== p.user.colour) {
      remove(p.client);
      f = undefined;
    }
    if (!f) {
      const group = new THREE.Group();
      const mat = new THREE.MeshBasicMaterial({ color: p.user.colour });
      const viewMat = new THREE.MeshBasicMaterial({ color: p.user.colour, transparent: true, opacity: 0.35, side: THREE.DoubleSide });
      group.add(new THREE.Mesh(head, mat), new THREE.Mesh(cone, viewMat));
      group.userData.client = p.client;
      const label = document.createElement("div");
      label.className = "label avatar";
      label.style.borderLeft = `3px solid ${p.user.colour}`;
      $("labels").appendChild(label);
      f = { group, label, colour: p.user.colour };
      figures.set(p.client, f);
      viewer.view?.scene.add(group);
    }
    f.label.textContent = `${p.user.name} (${p.user.role})`;
    return f;
  }

  function remove(/** @type {number} */ client) {
    const f = figures.get(client);
    if (!f) return;
    f.group.removeFromParent();
    f.label.remove();
    figures.delete(client);
  }

  function place() {
    if (!viewer.view) return;
    const rect = $("view").getBoundingClientRect();
    for (const p of peers) {
      const f = figures.get(p.client);
      if (!f) continue;
      const shown = !!p.camera;
      f.group.visible = shown;
      if (!shown || !viewer.view.project(p.camera.p[0], p.camera.p[1] + 0.6, p.camera.p[2], _v)) {
        f.label.hidden = true;
        continue;
      }
      f.label.hidden = false;
      f.label.style.transform = `translate(${((_v.x + 1) / 2) * rect.width}px, ${((1 - _v.y) / 2) * rect.height - 18}px)`;
    }
  }

  viewer.signals.peersChanged.add((list) => {
    peers = list;
    const here = new Set(list.map((p) => p.client));
    for (const client of [...figures.keys()]) if (!here.has(client)) remove(client);
    for (const p of list) {
      const f = figure(p);
      if (p.camera) {
        f.group.position.fromArray(p.camera.p);
        f.group.lookAt(_t.fromArray(p.camera.t));
      }
    }
    if (viewer.following !== null) {
      const leader = list.find((p) => p.client === viewer.following);
      if (!leader) viewer.follow(null);
      else if (leader.camera) moveTo(leader.camera);
    }
    if (viewer.view) viewer.view.dirty = true;
  });

  function moveTo(/** @type {{p: number[], t: number[]}} */ cam) {
    const view = viewer.view;
    view._programmatic = true;
    view.camera.position.fromArray(cam.p);
    view.controls.target.fromArray(cam.t);
    view.controls.update();
    view._programmatic = false;
    view.dirty = true;
  }

  viewer.signals.layoutBuilt.add(() => {
    for (const f of figures.values()) viewer.view.scene.add(f.group);
    // Moving the camera yourself ends following; every move is shared with the room.
    viewer.view.controls.addEventListener("start", () => viewer.follow(null));
    viewer.view.controls.addEventListener("change", () => viewer.collab?.shareCamera(viewer.view.camera, viewer.view.controls.target));
  });
  viewer.signals.followChanged.add((client) => {
    const leader = peers.find((p) => p.client === client);
    if (leader?.camera) moveTo(leader.camera);
  });
  viewer.signals.frameRendered.add((_now, drew) => {
    if (drew && figures.size) place();
  });
}
