#!/usr/bin/env bash
sed -i 's/nmae/name/' greet.py
