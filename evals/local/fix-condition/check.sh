#!/usr/bin/env bash
set -eu
cp "$TASK_DIR/repo/test_parity.py" .
python3 -m unittest -q test_parity
