#!/usr/bin/env bash
set -eu
out=$(python3 main.py)
[ "$(echo $out)" = 5 ] || { echo "main.py printed: $out"; exit 1; }
if grep -nw calc util.py main.py; then echo "the old name calc is still used"; exit 1; fi
python3 - <<'PY'
import util
assert util.add_numbers(4, 5) == 9, "util.add_numbers(4, 5) != 9"
assert not hasattr(util, "calc"), "util.calc still exists"
PY
