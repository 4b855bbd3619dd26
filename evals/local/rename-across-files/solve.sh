#!/usr/bin/env bash
sed -i 's/get_usr/get_user/g' users.py app.py report.py
