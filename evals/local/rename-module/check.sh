#!/usr/bin/env bash
set -eu
[ -f text_utils.py ] || { echo "text_utils.py is missing"; exit 1; }
[ ! -e helpers.py ] || { echo "helpers.py still exists"; exit 1; }
if grep -n helpers main.py; then echo "main.py still mentions helpers"; exit 1; fi
out=$(python3 main.py)
[ "$out" = HELLO ] || { echo "main.py printed: $out"; exit 1; }
