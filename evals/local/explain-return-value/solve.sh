#!/usr/bin/env bash
echo "mystery(4) returns 6." > "$WRIGHT_FINAL"
