#!/usr/bin/env bash
printf 'print("Hello, world!")\n' > hello.py
