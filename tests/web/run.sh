#!/usr/bin/env bash
# Browser tests of `wright serve`'s web UI (playwright-core driving Debian's chromium).
# Assumes the binaries are built with the UI inside: (cd web && npm ci && npm run build), then
# cargo build -p wright-cli -p wright-mock-model.
# Env: WRIGHT_BIN, WRIGHT_MOCK_BIN, CHROMIUM_BIN (overrides); screenshots land in
# target/web-artifacts (WRIGHT_WEB_ARTIFACTS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node --test --test-concurrency=1 web.test.mjs
