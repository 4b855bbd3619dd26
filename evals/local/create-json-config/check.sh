#!/usr/bin/env bash
set -eu
python3 - <<'PY'
import json
with open("config.json") as f:
    config = json.load(f)
want = {"name": "demo", "port": 8080, "debug": True}
assert config == want, "config.json holds %r, want %r" % (config, want)
PY
