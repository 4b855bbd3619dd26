#!/usr/bin/env bash
sed -i 's/"Total: " + total/"Total: " + str(total)/' report.py
