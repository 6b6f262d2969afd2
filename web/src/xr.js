// WebXR: the same scene in a headset, VR or AR (three.js XRButton offers AR where the device
// has it, VR otherwise). Machines keep their live colours (the scene's own instanced meshes);
// HTML labels cannot enter a headset, so each machine gets a label sprite (name and state)
// redrawn when its state changes; a controller's ray selects the machine it points at
// (`select`, as a click does). While a session runs, frames come from the XR session
// (renderer.setAnimationLoop) instead of the window's requestAnimationFrame.
import * as THREE from "three";
import { XRButton } from "three/addons/webxr/XRButton.js";
import { $ } from "./state.js";

const LABEL_PX = { w: 512, h: 96 };

/** @param {import("./state.js").Viewer} viewer */
export function startXR(viewer) {
  /** What XR shows (read by the test hook). */
  const state = { supported: null, presenting: false, mode: null, selected: null, labels: {}, selects: 0,
                  offset: [0, 0, 0], /** @type {any} */ ray: null };  // prettier-ignore
  /** @type {THREE.Group[]} */
  let controllers = [];
  /** @type {Map<number, {sprite: THREE.Sprite, ctx: CanvasRenderingContext2D, tex: THREE.CanvasTexture, text: string}>} */
  const sprites = new Map();
  const raycaster = new THREE.Raycaster();
  const rot = new THREE.Matrix4();
  let button = null;
  /** @type {THREE.Group | null} */
  let dolly = null;
  /** @type {{p: THREE.Vector3, q: THREE.Quaternion} | null} */
  let saved = null;
  let lastLabels = 0;

  const nav = /** @type {any} */ (navigator);
  if (nav.xr) {
    Promise.all(["immersive-vr", "immersive-ar"].map((m) => nav.xr.isSessionSupported(m).catch(() => false)))
      .then(([vr, ar]) => (state.supported = ar ? "ar" : vr ? "vr" : false))
      .catch(() => (state.supported = false));
  } else {
    state.supported = false;
  }

  viewer.signals.layoutBuilt.add(() => {
    const renderer = viewer.view.renderer;
    renderer.xr.enabled = true;
    button?.remove();
    button = XRButton.createButton(renderer, { optionalFeatures: ["local-floor"] });
    // XRButton styles itself as a floating button; here it is one tool among the others.
    Object.assign(button.style, { position: "static", left: "", bottom: "", width: "auto", padding: "4px 10px",
                                  font: "inherit", fontSize: "12px", zIndex: "" });  // prettier-ignore
    button.classList.add("tool");
    $("tools").appendChild(button);
    renderer.xr.addEventListener("sessionstart", onStart);
    renderer.xr.addEventListener("sessionend", onEnd);
  });

  function onStart() {
    const view = viewer.view;
    const renderer = view.renderer;
    const session = renderer.xr.getSession();
    state.presenting = true;
    state.mode = session && session.environmentBlendMode && session.environmentBlendMode !== "opaque" ? "ar" : "vr";
    if (state.mode === "ar") renderer.setClearAlpha(0);
    // Stand where the desktop camera looks from, on the floor: the plant is in metres, as a headset is.
    const t = view.controls.target;
    const c = view.camera.position;
    const back = new THREE.Vector3(c.x - t.x, 0, c.z - t.z);
    const dist = Math.min(Math.max(back.length(), 4), 30);
    back.setLength(dist);
    state.offset = [t.x + back.x, 0, t.z + back.z];
    // The headset's space is carried by a "dolly" standing there: three.js places the XR camera
    // under the camera's parent, and the controllers ride the same group.
    saved = { p: view.camera.position.clone(), q: view.camera.quaternion.clone() };
    dolly = new THREE.Group();
    dolly.position.set(...state.offset);
    view.scene.add(dolly);
    dolly.add(view.camera);
    controllers = [0, 1].map((k) => {
      const ctl = renderer.xr.getController(k);
      const ray = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3(0, 0, -1)]),
                                 new THREE.LineBasicMaterial({ color: 0x74c0fc }));  // prettier-ignore
      ray.scale.z = 40;
      ray.name = "ray";
      ctl.add(ray);
      ctl.addEventListener("select", () => onSelect(ctl));
      dolly?.add(ctl);
      return ctl;
    });
    buildLabels();
    viewer.xrPresenting = true;
    renderer.setAnimationLoop((now) => viewer.frame?.(now));
  }

  function onEnd() {
    const view = viewer.view;
    state.presenting = false;
    state.mode = null;
    view.renderer.setAnimationLoop(null);
    view.renderer.setClearAlpha(1);
    for (const ctl of controllers) ctl.removeFromParent();
    controllers = [];
    view.camera.removeFromParent(); // the desktop camera, where it was before the session
    dolly?.removeFromParent();
    dolly = null;
    if (saved) {
      view.camera.position.copy(saved.p);
      view.camera.quaternion.copy(saved.q);
      view.controls.update();
    }
    for (const s of sprites.values()) {
      s.sprite.removeFromParent();
      s.tex.dispose();
    }
    sprites.clear();
    state.labels = {};
    viewer.xrPresenting = false;
    view.dirty = true;
    requestAnimationFrame((now) => viewer.frame?.(now));
  }

  /** The machine a controller points at: the first object its ray hits. @param {THREE.Object3D} ctl */
  function pointedAt(ctl) {
    ctl.updateMatrixWorld(true);
    rot.identity().extractRotation(ctl.matrixWorld);
    raycaster.ray.origin.setFromMatrixPosition(ctl.matrixWorld);
    raycaster.ray.direction.set(0, 0, -1).applyMatrix4(rot);
    state.ray = { origin: raycaster.ray.origin.toArray(), direction: raycaster.ray.direction.toArray() };
    const hits = raycaster.intersectObjects(viewer.view.objectMeshes, false);
    if (!hits.length) return -1;
    return hits[0].object.userData.objects[hits[0].instanceId ?? 0];
  }

  function onSelect(ctl) {
    state.selects++;
    const i = pointedAt(ctl);
    state.selected = i >= 0 ? viewer.layout.objects.id[i] : null;
    if (i >= 0) viewer.select(i);
  }

  function buildLabels() {
    const o = viewer.layout.objects;
    for (let i = 0; i < o.count; i++) {
      if (!o.machine[i]) continue;
      const canvas = document.createElement("canvas");
      canvas.width = LABEL_PX.w;
      canvas.height = LABEL_PX.h;
      const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
      const tex = new THREE.CanvasTexture(canvas);
      tex.colorSpace = THREE.SRGBColorSpace;
      const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false, transparent: true }));
      const wide = Math.max(o.w[i], 1.6);
      sprite.scale.set(wide, (wide * LABEL_PX.h) / LABEL_PX.w, 1);
      sprite.position.set(o.x[i], o.y[i] + o.h[i] + 0.6, o.z[i]);
      sprite.renderOrder = 10;
      viewer.view.scene.add(sprite);
      sprites.set(i, { sprite, ctx, tex, text: "" });
    }
    updateLabels(true);
  }

  function updateLabels(force = false) {
    const o = viewer.layout.objects;
    for (const [i, s] of sprites) {
      const value = viewer.shown[i];
      const text = `${o.name[i]} · ${value ?? "no data"}`;
      if (!force && text === s.text) continue;
      s.text = text;
      state.labels[o.id[i]] = text;
      const { ctx } = s;
      ctx.clearRect(0, 0, LABEL_PX.w, LABEL_PX.h);
      ctx.fillStyle = "rgba(20, 23, 27, 0.85)";
      ctx.fillRect(0, 0, LABEL_PX.w, LABEL_PX.h);
      ctx.fillStyle = "#e9ecef";
      ctx.font = "bold 40px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText(text, 16, LABEL_PX.h / 2, LABEL_PX.w - 32);
      s.tex.needsUpdate = true;
    }
  }

  viewer.signals.frameRendered.add((now) => {
    if (!state.presenting) return;
    if (now - lastLabels > 250) {
      lastLabels = now;
      updateLabels();
    }
  });

  /** Where a twin stands in the headset's (un-offset) reference space: for tests that aim a controller. */
  state.devicePoint = (/** @type {string} */ id) => {
    const o = viewer.layout.objects;
    const i = viewer.index.get(id);
    if (i === undefined) return null;
    const [x, y, z] = state.offset;
    return [o.x[i] - x, o.y[i] + o.h[i] * 0.5 - y, o.z[i] - z];
  };
  return state;
}
