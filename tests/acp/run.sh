#!/usr/bin/env bash
# ACP conformance test: the official @agentclientprotocol/sdk client drives `wright acp`.
# Assumes the binaries are built: cargo build -p wright-cli -p wright-mock-model
# Env: WRIGHT_BIN, WRIGHT_MOCK_BIN (binary overrides).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node --test acp.test.mjs
