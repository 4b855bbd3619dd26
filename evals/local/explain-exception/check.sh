#!/usr/bin/env bash
set -eu
grep -q ZeroDivisionError "$WRIGHT_FINAL" || { echo "the answer does not name ZeroDivisionError"; exit 1; }
