#!/usr/bin/env bash
# The official MCP inspector CLI (pinned in tests/mcp/package.json) drives `wright mcp-server`:
# tools/list, then a `wright` call on a fixture repo against the mock model.
# Assumes the binaries are built: cargo build -p wright-cli -p wright-mock-model
# Env: WRIGHT_BIN, WRIGHT_MOCK_BIN (binary overrides).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../mcp"
# tests/mcp is shared with the MCP client's tests: install it only when its lock changed since
# the last install (npm ci empties node_modules first, which would pull it from under a suite
# reading it), and one installer at a time.
if [ ! -f "$fixtures/node_modules/.package-lock.json" ] ||
  [ "$fixtures/package-lock.json" -nt "$fixtures/node_modules/.package-lock.json" ]; then
  (
    flock 9
    cd "$fixtures"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  ) 9>"${TMPDIR:-/tmp}/wright-tests-mcp-npm-ci.lock"
fi
cd "$here"
exec node --test inspector.test.mjs
