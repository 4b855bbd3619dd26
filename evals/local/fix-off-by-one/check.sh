#!/usr/bin/env bash
# The pristine test, so that editing the test cannot pass the task.
set -eu
cp "$TASK_DIR/repo/test_counting.py" .
python3 -m unittest -q test_counting
