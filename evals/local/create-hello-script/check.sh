#!/usr/bin/env bash
set -eu
out=$(python3 hello.py)
[ "$out" = "Hello, world!" ] || { echo "hello.py printed: $out"; exit 1; }
