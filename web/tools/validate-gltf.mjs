// Validate glTF/GLB files with the Khronos glTF-Validator; prints one JSON report per file.
// Usage: node tools/validate-gltf.mjs FILE... ; exit code 1 if any file has errors.
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

let failed = false;
const reports = [];
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 200,
    externalResourceFunction: (uri) => readFile(path.resolve(path.dirname(file), decodeURIComponent(uri))),
  });
  const i = report.issues;
  failed ||= i.numErrors > 0;
  reports.push({
    file,
    errors: i.numErrors,
    warnings: i.numWarnings,
    infos: i.numInfos,
    hints: i.numHints,
    messages: i.messages.map((m) => ({ code: m.code, severity: m.severity, pointer: m.pointer, message: m.message })),
    info: report.info,
  });
}
process.stdout.write(JSON.stringify(reports, null, 1) + "\n");
process.exit(failed ? 1 : 0);
