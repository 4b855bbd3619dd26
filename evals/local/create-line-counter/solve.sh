#!/usr/bin/env bash
cat > count_lines.py <<'PY'
with open("data.txt") as f:
    print(len(f.readlines()))
PY
