#!/usr/bin/env bash
# The README's test command: install everything the tests need on a fresh machine, then run them.
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[all,test]'   # every cloud's SDKs and uv, and the test tools
bash scripts/test-tools.sh
exec .venv/bin/python -m pytest -n 2 -q "$@"
