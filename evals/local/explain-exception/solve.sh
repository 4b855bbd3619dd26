#!/usr/bin/env bash
echo "It raises ZeroDivisionError: guests is empty, so people is 0." > "$WRIGHT_FINAL"
