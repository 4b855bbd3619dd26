#!/usr/bin/env bash
sed -i 's/width + height/width * height/' geometry.py
