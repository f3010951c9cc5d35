#!/usr/bin/env bash
# Tools the tests use besides Python packages: emulators and renderers from npm and Debian.
# Each step is skipped when the tool is already there, so a second run costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Azurite (Azure Storage emulator) for the Azure store-client tests (tests/test_runtime_clients_azure.py).
if [ ! -x .tools/node_modules/.bin/azurite ]; then
    npm install --no-audit --no-fund --prefix .tools azurite@3
fi

# Diagram renderers for tests/test_graph*.py: Graphviz (`dot`) and Chromium from Debian, and the Mermaid
# CLI (mmdc) from npm, told to use the system's Chromium instead of downloading its own browser.
if ! command -v dot >/dev/null || ! command -v chromium >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    if [ -z "$SUDO" ] || command -v sudo >/dev/null; then
        $SUDO apt-get update -q
        $SUDO apt-get install -y -q graphviz chromium
    else
        echo "test-tools: not root and no sudo: install graphviz and chromium yourself (diagram tests skip)" >&2
    fi
fi
if [ ! -x .tools/node_modules/.bin/mmdc ]; then
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --prefix .tools @mermaid-js/mermaid-cli@11
fi
