#!/usr/bin/env bash
set -eu
[ "$(python3 app.py)" = "logged in as ada" ] || { echo "app.py output changed"; exit 1; }
[ "$(python3 report.py)" = "$(printf '1 ada\n2 grace')" ] || { echo "report.py output changed"; exit 1; }
if grep -n get_usr users.py app.py report.py; then echo "get_usr is still used"; exit 1; fi
python3 - <<'PY'
import users
assert users.get_user(2) == "grace", "users.get_user(2) != 'grace'"
PY
