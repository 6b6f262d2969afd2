// Bundle the viewer with esbuild into the Python package's static files.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { rmSync } from "node:fs";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "..", "twinverse", "api", "static", "viewer");

// Hashed chunk names change with their content: start from an empty folder, no stale chunks.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: {
    viewer: path.join(here, "src", "main.js"),
    table: path.join(here, "src", "table.js"),
    dashboard: path.join(here, "src", "dashboard.js"),
    plants: path.join(here, "src", "plants.js"),
  },
  bundle: true,
  format: "esm",
  // testing.js (dynamically imported in test mode only) becomes its own chunk.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  outdir,
  logLevel: "warning",
});
console.log(`viewer bundle written to ${path.relative(process.cwd(), outdir)}/`);
