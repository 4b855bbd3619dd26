#!/usr/bin/env bash
# Codex SDK conformance test for `wright exec`.
# Assumes the binaries are built: cargo build -p wright-cli -p wright-mock-model
# Env: WRIGHT_BIN, WRIGHT_MOCK_BIN (binary overrides).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# --omit=optional skips the ~400 MB native Codex CLI the SDK depends on; the test never runs it
# (codexPathOverride points the SDK at wright).
npm ci --no-audit --no-fund --omit=optional --loglevel=error >/dev/null
exec node --test sdk.test.mjs
