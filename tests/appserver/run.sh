#!/usr/bin/env bash
# External tests of `wright app-server` (Codex App Server protocol v2).
# Needs target/debug/{wright,wright-mock-model} (cargo build -p wright-cli -p wright-mock-model;
# override with WRIGHT_BIN / WRIGHT_MOCK_BIN) and `pip install jsonschema websocket-client`.
# Run one class with e.g. `python3 -m unittest -v test_appserver.BadInput`.
set -euo pipefail
cd "$(dirname "$0")"
rc=0
python3 -W ignore::ResourceWarning -m unittest -v test_appserver 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "appserver tests: PASSED"
else
    echo "appserver tests: FAILED (exit $rc)"
fi
exit "$rc"
