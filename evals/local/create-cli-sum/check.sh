#!/usr/bin/env bash
set -eu
want() {
    local expected=$1; shift
    local out
    out=$(python3 add.py "$@")
    [ "$(echo $out)" = "$expected" ] || { echo "add.py $* printed: $out (want $expected)"; exit 1; }
}
want 9 2 3 4
want 0
want 100 100
want 5 10 -5
