#!/usr/bin/env bash
# OpenAI's Python SDK (`openai-codex`, PyPI) driving `wright app-server` through a thread's life.
# Needs target/debug/{wright,wright-mock-model} (cargo build -p wright-cli -p wright-mock-model;
# override with WRIGHT_BIN / WRIGHT_MOCK_BIN) and `pip install openai-codex==0.163.0` for the
# interpreter in $PYTHON (default python3). Without the SDK the suite is skipped, except under
# CI=true, where that is a failure.
# Run one class with e.g. `python3 -m unittest -v test_openai_codex.Approvals`.
set -euo pipefail
cd "$(dirname "$0")"
py="${PYTHON:-python3}"
if ! "$py" -c 'import openai_codex' 2>/dev/null; then
    if [ "${CI:-}" = "true" ]; then
        echo "pyclient tests: FAILED (openai-codex is not installed for $py)"
        exit 1
    fi
    echo "pyclient tests: SKIPPED (pip install openai-codex==0.163.0 to run them)"
    exit 0
fi
rc=0
"$py" -W ignore::ResourceWarning -m unittest -v test_openai_codex 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "pyclient tests: PASSED"
else
    echo "pyclient tests: FAILED (exit $rc)"
fi
exit "$rc"
