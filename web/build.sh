#!/usr/bin/env bash
# Build the 3D viewer into twinverse/api/static/viewer/ (npm ci + esbuild).
# Idempotent and quick when nothing changed: npm ci runs only when package-lock.json is
# newer than node_modules, the bundle only when a source is newer than it.
set -euo pipefail
cd "$(dirname "$0")"
out=../twinverse/api/static/viewer/viewer.js
if ! command -v npm >/dev/null; then
  echo "web/build.sh: npm is missing (apt-get install nodejs npm)" >&2
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [[ -f "$out" && -z "$(find src build.mjs package-lock.json -newer "$out" -print -quit)" ]]; then
  echo "viewer bundle up to date"
  exit 0
fi
node build.mjs
