#!/usr/bin/env bash
# mystery(4) = 0 + 1 + 2 + 3.
set -eu
grep -qw 6 "$WRIGHT_FINAL" || { echo "the answer does not say 6"; exit 1; }
