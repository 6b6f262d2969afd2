// Unit-space geometries of the scene's shapes, the same as twinverse/scene/shapes.py:
// x and z span [-0.5, 0.5], y spans [0, 1]; an object scales them by its size (w, h, d).
import { BoxGeometry, CylinderGeometry, ConeGeometry } from "three";
import { mergeGeometries } from "three/addons/utils/BufferGeometryUtils.js";

function box(x0, y0, z0, x1, y1, z1) {
  return new BoxGeometry(x1 - x0, y1 - y0, z1 - z0).translate((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2);
}

function conveyor() {
  const parts = [box(-0.5, 0.82, -0.45, 0.5, 1.0, 0.45)];
  for (const z0 of [-0.5, 0.45]) parts.push(box(-0.5, 0.78, z0, 0.5, 1.0, z0 + 0.05));
  for (const x of [-0.45, 0.4]) for (const z of [-0.45, 0.37]) parts.push(box(x, 0, z, x + 0.05, 0.82, z + 0.08));
  return mergeGeometries(parts);
}

function tank() {
  const body = new CylinderGeometry(0.5, 0.5, 0.85, 24).translate(0, 0.425, 0);
  const roof = new ConeGeometry(0.5, 0.15, 24).translate(0, 0.925, 0);
  return mergeGeometries([body.toNonIndexed(), roof.toNonIndexed()]);
}

/** One geometry per shape name, built once. */
export function shapeGeometries(names) {
  const make = {
    box: () => box(-0.5, 0, -0.5, 0.5, 1, 0.5),
    cylinder: () => new CylinderGeometry(0.5, 0.5, 1, 24).translate(0, 0.5, 0),
    conveyor,
    tank,
  };
  return names.map((n) => (make[n] ?? make.box)());
}
