#!/usr/bin/env bash
echo "scale_price applies the discount (it multiplies by RATE = 0.9)." > "$WRIGHT_FINAL"
