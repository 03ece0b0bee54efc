#!/bin/sh
# make demo: see scripts/demo.py.
set -e
cd "$(dirname "$0")/.."
exec python3 scripts/demo.py
