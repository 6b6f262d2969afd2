// glTF models of twin types (`model:` in the plant YAML, GET /api/scene/models/{type}): each
// model is loaded once with three's GLTFLoader, its parts merged into one geometry (their
// base colours kept as vertex colours) and drawn as one InstancedMesh for every twin of the
// type, tinted per instance by the twin's live colour like the parametric shapes. A model
// that fails to load leaves its twins in their parametric shape (a warning says why).
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { mergeGeometries } from "three/addons/utils/BufferGeometryUtils.js";
import { apiToken, apiURL } from "./live.js";

/** One geometry of a glTF scene: every mesh in world space, its material colour as vertex colour. */
function merged(root) {
  root.updateMatrixWorld(true);
  /** @type {THREE.BufferGeometry[]} */
  const parts = [];
  root.traverse((/** @type {any} */ node) => {
    if (!node.isMesh) return;
    let g = node.geometry.index ? node.geometry.toNonIndexed() : node.geometry.clone();
    g.applyMatrix4(node.matrixWorld);
    if (!g.getAttribute("normal")) g.computeVertexNormals();
    const keep = new THREE.BufferGeometry();
    keep.setAttribute("position", g.getAttribute("position"));
    keep.setAttribute("normal", g.getAttribute("normal"));
    const mat = Array.isArray(node.material) ? node.material[0] : node.material;
    const c = mat?.color ?? new THREE.Color(0xcccccc);
    const n = keep.getAttribute("position").count;
    const colors = new Float32Array(n * 3);
    for (let k = 0; k < n; k++) colors.set([c.r, c.g, c.b], k * 3);
    keep.setAttribute("color", new THREE.BufferAttribute(colors, 3));
    parts.push(keep);
    if (g !== node.geometry) g.dispose();
  });
  if (!parts.length) throw new Error("the model has no mesh");
  return mergeGeometries(parts, false);
}

/**
 * Draw the layout's models in `view` (a Scene3D, instanced); resolves to what was drawn.
 * @param {any} view
 * @param {any} layout
 * @returns {Promise<{loaded: string[], failed: Record<string, string>}>}
 */
export async function applyModels(view, layout) {
  const out = { loaded: [], failed: {} };
  const models = layout.models ?? {};
  if (!view.instanced || !Object.keys(models).length) return out;
  const loader = new GLTFLoader();
  const token = apiToken();
  if (token) loader.setRequestHeader({ Authorization: `Bearer ${token}` });
  const o = layout.objects;
  const q = new THREE.Quaternion();
  const up = new THREE.Vector3(0, 1, 0);
  const m = new THREE.Matrix4();
  const zero = new THREE.Matrix4().makeScale(0, 0, 0);
  const c = new THREE.Color();
  await Promise.all(
    Object.entries(models).map(async ([type, spec]) => {
      const rows = [];
      for (let i = 0; i < o.count; i++) if (o.type[i] === type) rows.push(i);
      if (!rows.length) return;
      let geometry;
      try {
        geometry = merged((await loader.loadAsync(apiURL(spec.url))).scene);
      } catch (err) {
        out.failed[type] = String(err?.message ?? err);
        console.warn(`model of ${type} not drawn (${out.failed[type]}); its twins keep their shape`);
        return;
      }
      if (view.disposed) return;
      const material = new THREE.MeshLambertMaterial({ color: 0xffffff, vertexColors: true });
      const inst = new THREE.InstancedMesh(geometry, material, rows.length);
      inst.userData.objects = Int32Array.from(rows);
      inst.userData.model = type;
      const s = spec.scale;
      rows.forEach((i, k) => {
        q.setFromAxisAngle(up, o.rotation[i] + (spec.rotation * Math.PI) / 180);
        inst.setMatrixAt(k, m.compose(new THREE.Vector3(o.x[i], o.y[i], o.z[i]), q, new THREE.Vector3(s, s, s)));
        // The parametric instance gives way: zero size, and no longer the twin's pick target.
        const shape = view.objectMeshes[view.meshOf[i]];
        shape.getColorAt(view.slot[i], c);
        inst.setColorAt(k, c);
        shape.setMatrixAt(view.slot[i], zero);
        shape.userData.objects[view.slot[i]] = -1;
        shape.instanceMatrix.needsUpdate = true;
        shape.computeBoundingSphere();
        view.extra.set(i, [inst, k]);
      });
      inst.instanceMatrix.needsUpdate = true;
      inst.instanceColor.needsUpdate = true;
      inst.computeBoundingSphere();
      view.objectMeshes.push(inst);
      view.scene.add(inst);
      view.dirty = true;
      out.loaded.push(type);
    }),
  );
  out.loaded.sort();
  return out;
}

/** Draw the models of every layout the viewer builds. @param {import("./state.js").Viewer} viewer */
export function startModels(viewer) {
  const state = { loaded: [], failed: {}, pending: false };
  viewer.signals.layoutBuilt.add(async (layout) => {
    state.pending = true;
    const view = viewer.view;
    const r = await applyModels(view, layout);
    if (view !== viewer.view) return;
    Object.assign(state, r, { pending: false });
  });
  return state;
}
