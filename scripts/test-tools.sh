#!/usr/bin/env bash
# Tools the tests use besides Python packages: emulators and renderers from npm and Debian.
# Each step is skipped when the tool is already there, so a second run costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
