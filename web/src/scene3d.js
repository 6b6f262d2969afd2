// The 3D view: floor, zones, belts and machines from GET /api/scene; picking, highlight, camera.
//
// Machines of one shape share one InstancedMesh with a per-instance colour, so 10,000
// machines are a handful of draw calls. With ?render=meshes every machine is its own
// Mesh and material instead (the baseline the viewer benchmark compares against).
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { shapeGeometries } from "./shapes.js";

const ZONE_COLORS = [0x3b4048, 0x444a53, 0x4d545e, 0x565e69];

/** True when WebGL runs on a CPU rasteriser rather than a GPU. */
function isSoftwareGL() {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return false;
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : "";
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return /swiftshader|llvmpipe|software/i.test(name);
}

export class Scene3D {
  constructor(container, layout, { instanced = true } = {}) {
    this.container = container;
    this.layout = layout;
    this.instanced = instanced;
    // Multisampling quadruples the work of a software rasteriser (SwiftShader, llvmpipe):
    // machines without a GPU draw without it.
    this.software = isSoftwareGL();
    const aa = new URLSearchParams(location.search).get("aa");
    const antialias = aa === null ? !this.software : aa !== "0";
    this.renderer = new THREE.WebGLRenderer({ antialias, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setClearColor(0x1b1e23);
    container.appendChild(this.renderer.domElement);
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.1, 20000);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.screenSpacePanning = true;
    this.controls.maxPolarAngle = Math.PI * 0.49;
    this.dirty = true;
    // Until the user moves the camera, a resize (the panel opening) keeps the plant framed.
    this.controls.addEventListener("change", () => {
      this.dirty = true;
      if (!this._programmatic) this.fitted = null;
    });
    this.raycaster = new THREE.Raycaster();
    /** Object row → [InstancedMesh, instance] of its type's glTF model (models.js). @type {Map<number, [any, number]>} */
    this.extra = new Map();
    this.disposed = false;
    this._color = new THREE.Color();
    this._m = new THREE.Matrix4();
    this._build();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(container);
  }

  _build() {
    const L = this.layout;
    const s = this.scene;
    s.add(new THREE.HemisphereLight(0xdfe8f0, 0x30343a, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(0.4, 1, 0.6);
    s.add(sun);
    const [x0, z0, x1, z1] = L.bounds;
    this.bounds = { x0, z0, x1, z1 };
    const floor = new THREE.Mesh(
      new THREE.PlaneGeometry(x1 - x0 + 10, z1 - z0 + 10).rotateX(-Math.PI / 2),
      new THREE.MeshLambertMaterial({ color: 0x2b2f35 }),
    );
    floor.position.set((x0 + x1) / 2, -0.01, (z0 + z1) / 2);
    s.add(floor);
    // All zones in one instanced mesh: a plant with hundreds of lines stays one draw call.
    if (L.zones.length) {
      const zones = new THREE.InstancedMesh(
        new THREE.PlaneGeometry(1, 1).rotateX(-Math.PI / 2),
        new THREE.MeshLambertMaterial({ color: 0xffffff }),
        L.zones.length,
      );
      L.zones.forEach((z, k) => {
        const [a, b, c, d] = z.rect;
        this._m.makeScale(c - a, 1, d - b).setPosition((a + c) / 2, 0.004 * (z.depth + 1), (b + d) / 2);
        zones.setMatrixAt(k, this._m);
        zones.setColorAt(k, this._color.set(ZONE_COLORS[Math.min(z.depth, ZONE_COLORS.length - 1)]));
      });
      s.add(zones);
    }
    this._buildBelts();
    this._buildObjects();
    this.highlight = new THREE.LineSegments(
      new THREE.EdgesGeometry(new THREE.BoxGeometry(1, 1, 1).translate(0, 0.5, 0)),
      new THREE.LineBasicMaterial({ color: 0xffffff }),
    );
    this.highlight.visible = false;
    s.add(this.highlight);
    this.hoverBox = new THREE.LineSegments(this.highlight.geometry, new THREE.LineBasicMaterial({ color: 0x9ad0ff }));
    this.hoverBox.visible = false;
    s.add(this.hoverBox);
  }

  _buildBelts() {
    const { points, belt } = this.layout.links;
    let n = 0;
    for (const p of points) n += p.length / 2 - 1;
    if (!n) return;
    const mesh = new THREE.InstancedMesh(
      new THREE.BoxGeometry(1, 1, 1),
      new THREE.MeshLambertMaterial({ color: 0x15171a }),
      n,
    );
    const q = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    let k = 0;
    for (const p of points) {
      for (let i = 0; i + 3 < p.length; i += 2) {
        const [ax, az, bx, bz] = [p[i], p[i + 1], p[i + 2], p[i + 3]];
        const len = Math.hypot(bx - ax, bz - az);
        q.setFromAxisAngle(up, Math.atan2(-(bz - az), bx - ax));
        this._m.compose(
          new THREE.Vector3((ax + bx) / 2, belt.top - 0.05, (az + bz) / 2),
          q,
          new THREE.Vector3(len + belt.width * (i > 0 ? 1 : 0), 0.1, belt.width),
        );
        mesh.setMatrixAt(k++, this._m);
      }
    }
    this.scene.add(mesh);
  }

  _buildObjects() {
    const o = this.layout.objects;
    const n = o.count;
    const geos = shapeGeometries(this.layout.shapes);
    this.objectMeshes = [];
    this.slot = new Int32Array(n); // instance index within its mesh
    this.meshOf = new Int32Array(n); // which entry of objectMeshes
    this.matrices = [];
    const q = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    const matrixOf = (i) => {
      q.setFromAxisAngle(up, o.rotation[i]);
      return new THREE.Matrix4().compose(
        new THREE.Vector3(o.x[i], o.y[i], o.z[i]),
        q,
        new THREE.Vector3(o.w[i], o.h[i], o.d[i]),
      );
    };
    if (this.instanced) {
      const byShape = geos.map(() => []);
      for (let i = 0; i < n; i++) byShape[o.shape[i]].push(i);
      byShape.forEach((members, shape) => {
        if (!members.length) return;
        const mesh = new THREE.InstancedMesh(
          geos[shape],
          new THREE.MeshLambertMaterial({ color: 0xffffff }),
          members.length,
        );
        mesh.userData.objects = Int32Array.from(members);
        members.forEach((obj, k) => {
          mesh.setMatrixAt(k, matrixOf(obj));
          mesh.setColorAt(k, this._color.set(0x888888));
          this.slot[obj] = k;
          this.meshOf[obj] = this.objectMeshes.length;
        });
        mesh.instanceMatrix.needsUpdate = true;
        mesh.instanceColor.needsUpdate = true;
        mesh.computeBoundingSphere();
        this.objectMeshes.push(mesh);
        this.scene.add(mesh);
      });
    } else {
      for (let i = 0; i < n; i++) {
        const mesh = new THREE.Mesh(geos[o.shape[i]], new THREE.MeshLambertMaterial({ color: 0x888888 }));
        mesh.matrixAutoUpdate = false;
        mesh.matrix.copy(matrixOf(i));
        mesh.userData.objects = Int32Array.of(i);
        this.slot[i] = 0;
        this.meshOf[i] = i;
        this.objectMeshes.push(mesh);
        this.scene.add(mesh);
      }
    }
    this._dirtyColors = new Set();
  }

  /** Colour one object (a THREE.Color, linear). */
  setColor(i, color) {
    const more = this.extra.get(i); // its glTF model, when its type has one (models.js)
    if (more) {
      more[0].setColorAt(more[1], color);
      this._dirtyColors.add(more[0]);
    }
    const mesh = this.objectMeshes[this.meshOf[i]];
    if (!mesh) return;
    if (this.instanced) {
      mesh.setColorAt(this.slot[i], color);
      this._dirtyColors.add(mesh);
    } else {
      mesh.material.color.copy(color);
    }
    this.dirty = true;
  }

  /** The colour an object is drawn with, as "#rrggbb" (sRGB). */
  colorHex(i) {
    const mesh = this.objectMeshes[this.meshOf[i]];
    if (!mesh) return null;
    if (this.instanced) mesh.getColorAt(this.slot[i], this._color);
    else this._color.copy(mesh.material.color);
    return "#" + this._color.getHexString();
  }

  /** Object under a client-space point, or -1. */
  pick(clientX, clientY) {
    const r = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    const hits = this.raycaster.intersectObjects(this.objectMeshes, false);
    if (!hits.length) return -1;
    const h = hits[0];
    return h.object.userData.objects[h.instanceId ?? 0];
  }

  /** Centre of the top of an object in client pixels (what a click on it hits), or null off-screen. */
  screenPoint(i) {
    const o = this.layout.objects;
    const v = new THREE.Vector3(o.x[i], o.y[i] + o.h[i] * 0.6, o.z[i]).project(this.camera);
    if (v.z > 1) return null;
    const r = this.renderer.domElement.getBoundingClientRect();
    return { x: r.left + ((v.x + 1) / 2) * r.width, y: r.top + ((1 - v.y) / 2) * r.height };
  }

  _boxAround(target, i) {
    if (i < 0) {
      target.visible = false;
    } else {
      const o = this.layout.objects;
      target.position.set(o.x[i], o.y[i] - 0.02, o.z[i]);
      target.rotation.set(0, o.rotation[i], 0);
      target.scale.set(o.w[i] + 0.3, o.h[i] + 0.2, o.d[i] + 0.3);
      target.visible = true;
    }
    this.dirty = true;
  }

  select(i) {
    this._boxAround(this.highlight, i);
  }

  hover(i) {
    this._boxAround(this.hoverBox, i);
  }

  /** Frame a box of the floor: the whole plant by default. */
  fit(box = this.bounds, animate = false) {
    const cx = (box.x0 + box.x1) / 2;
    const cz = (box.z0 + box.z1) / 2;
    // The distance at which the box's width fits the horizontal field of view and its
    // depth the vertical one (seen at about 50 degrees from above: depth shrinks a bit).
    const half = Math.tan((this.camera.fov * Math.PI) / 360);
    const need = Math.max((box.x1 - box.x0) / this.camera.aspect, (box.z1 - box.z0) * 0.8, 6);
    const dist = (need / 2 / half) * 1.08;
    const target = new THREE.Vector3(cx, 0, cz);
    const pos = new THREE.Vector3(cx, dist * 0.77, cz + dist * 0.64);
    this._flyTo(target, pos, animate ? 600 : 0);
    this.fitted = box;
  }

  /** Fly the camera to an object. */
  flyTo(i) {
    const o = this.layout.objects;
    const r = Math.max(o.w[i], o.d[i], o.h[i], 2) * 4;
    this._flyTo(new THREE.Vector3(o.x[i], o.h[i] / 2, o.z[i]), new THREE.Vector3(o.x[i] + r * 0.3, r, o.z[i] + r), 600);
    this.fitted = null;
  }

  _flyTo(target, pos, ms) {
    const t0 = this.controls.target.clone();
    const p0 = this.camera.position.clone();
    const start = performance.now();
    this._anim = (now) => {
      const k = ms ? Math.min(1, (now - start) / ms) : 1;
      const e = k * k * (3 - 2 * k);
      this.controls.target.lerpVectors(t0, target, e);
      this.camera.position.lerpVectors(p0, pos, e);
      this._programmatic = true;
      this.controls.update();
      this._programmatic = false;
      this.dirty = true;
      if (k >= 1) this._anim = null;
    };
    this._anim(start);
  }

  resize() {
    const w = this.container.clientWidth || 1;
    const h = this.container.clientHeight || 1;
    this.renderer.setSize(w, h, false);
    this.renderer.domElement.style.width = "100%";
    this.renderer.domElement.style.height = "100%";
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    if (this.fitted && !this._anim) this.fit(this.fitted);
    this.dirty = true;
  }

  /** Draw if anything changed; returns true when a frame was drawn. */
  render(now, force = false) {
    if (this._anim) this._anim(now);
    if (!this.dirty && !force) return false;
    for (const mesh of this._dirtyColors) mesh.instanceColor.needsUpdate = true;
    this._dirtyColors.clear();
    this.renderer.render(this.scene, this.camera);
    this.dirty = false;
    return true;
  }

  /** World position projected to client pixels for labels (null when behind the camera). */
  project(x, y, z, out) {
    out.set(x, y, z).project(this.camera);
    return out.z <= 1 && out.x >= -1.1 && out.x <= 1.1 && out.y >= -1.1 && out.y <= 1.1;
  }

  dispose() {
    this.disposed = true;
    this.renderer.dispose();
    this.renderer.domElement.remove();
    this.controls.dispose();
  }
}
