// Everyone else's camera as a small figure in the scene: a head where they stand, a cone
// toward what they look at, their colour, their name on an HTML label, and a ray to the
// machine under their pointer. "Follow" moves this page's camera with someone's; moving the
// camera yourself stops following. "Bring everyone here" moves everyone else's to yours.
import * as THREE from "three";
import { $ } from "./state.js";

/** @typedef {import("./collab.js").Peer} Peer */

/** @param {import("./state.js").Viewer} viewer */
export function startAvatars(viewer) {
  /** client id → its figure @type {Map<number, {group: THREE.Group, label: HTMLElement, colour: string, ray: THREE.Line}>} */
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
      const ray = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3()]),
                                 new THREE.LineBasicMaterial({ color: p.user.colour }));  // prettier-ignore
      ray.visible = false;
      ray.userData.ray = p.client;
      const label = document.createElement("div");
      label.className = "label avatar";
      label.style.borderLeft = `3px solid ${p.user.colour}`;
      $("labels").appendChild(label);
      f = { group, label, colour: p.user.colour, ray };
      figures.set(p.client, f);
      viewer.view?.scene.add(group, ray);
    }
    f.label.textContent = `${p.user.name} (${p.user.role})`;
    return f;
  }

  function remove(/** @type {number} */ client) {
    const f = figures.get(client);
    if (!f) return;
    f.group.removeFromParent();
    f.ray.removeFromParent();
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
      const at = p.pointer ? viewer.index.get(p.pointer) : undefined;
      f.ray.visible = !!p.camera && at !== undefined;
      f.ray.userData.twin = f.ray.visible ? p.pointer : null;
      if (f.ray.visible) {
        const o = viewer.layout.objects;
        const pos = /** @type {THREE.BufferAttribute} */ (f.ray.geometry.getAttribute("position"));
        pos.setXYZ(0, p.camera.p[0], p.camera.p[1] - 0.4, p.camera.p[2]);
        pos.setXYZ(1, o.x[at], o.y[at] + o.h[at], o.z[at]);
        pos.needsUpdate = true;
        f.ray.geometry.computeBoundingSphere();
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

  viewer.signals.summoned.add((caller) => {
    viewer.follow(null);
    moveTo(caller.summon);
    viewer.notify(`${caller.user.name} brought everyone to their view`, 4000);
  });
  let lastPoint = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pointTimer;
  viewer.signals.layoutBuilt.add(() => {
    for (const f of figures.values()) viewer.view.scene.add(f.group, f.ray);
    // The machine under this page's pointer, shared at most every 100 ms.
    const canvas = viewer.view.renderer.domElement;
    canvas.addEventListener("pointermove", (/** @type {PointerEvent} */ e) => {
      clearTimeout(pointTimer);
      const share = () => {
        lastPoint = performance.now();
        const i = viewer.view.pick(e.clientX, e.clientY);
        viewer.collab?.point(i >= 0 ? viewer.layout.objects.id[i] : null);
      };
      const wait = lastPoint + 100 - performance.now();
      if (wait <= 0) share();
      else pointTimer = setTimeout(share, wait);
    });
    canvas.addEventListener("pointerleave", () => {
      clearTimeout(pointTimer);
      viewer.collab?.point(null);
    });
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
