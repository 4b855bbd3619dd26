#!/usr/bin/env bash
# Also run the script on another data.txt, so printing a constant does not pass.
set -eu
out=$(python3 count_lines.py)
[ "$(echo $out)" = 5 ] || { echo "count_lines.py printed: $out (want 5)"; exit 1; }
other=$(mktemp -d)
trap 'rm -rf "$other"' EXIT
cp count_lines.py "$other/"
printf 'a\nb\nc\nd\ne\nf\ng\n' > "$other/data.txt"
out=$(cd "$other" && python3 count_lines.py)
[ "$(echo $out)" = 7 ] || { echo "count_lines.py printed $out for a 7-line data.txt"; exit 1; }
