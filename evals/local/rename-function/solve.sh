#!/usr/bin/env bash
sed -i 's/\bcalc\b/add_numbers/g' util.py main.py
