#!/usr/bin/env bash
echo "lib.py defines 4 functions: load, save, words and count_words." > "$WRIGHT_FINAL"
