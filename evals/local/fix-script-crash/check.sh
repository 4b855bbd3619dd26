#!/usr/bin/env bash
set -eu
out=$(python3 report.py)
[ "$out" = "Total: 10" ] || { echo "report.py printed: $out"; exit 1; }
