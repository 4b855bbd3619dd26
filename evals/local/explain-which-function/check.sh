#!/usr/bin/env bash
# The right name, and not a list of every function in the file.
set -eu
grep -q scale_price "$WRIGHT_FINAL" || { echo "the answer does not name scale_price"; exit 1; }
if grep -Eq 'compute_total|format_money' "$WRIGHT_FINAL"; then
    echo "the answer names other functions too"; exit 1
fi
