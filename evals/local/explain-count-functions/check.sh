#!/usr/bin/env bash
# load, save, words, count_words.
set -eu
grep -Eqiw '4|four' "$WRIGHT_FINAL" || { echo "the answer does not say 4"; exit 1; }
